//! Targets of the value tie between the named latent dimensions and their attributes: each
//! training window's attribute as a normal score within its meter (its mid-rank among the
//! meter's windows, through the inverse normal distribution function). Knob value x then
//! means "the attribute of the corpus's quantile Φ(x) in this meter", and the dimensions'
//! spread over the data is the prior's N(0, 1), so that prior samples land where data was.

use neume::encoding::Meter;

use crate::eval::knobs::ranks;

/// Per window, the normal score of each attribute among the windows of its meter.
/// `values[i]` are window i's attributes, `meters[i]` its meter.
pub fn normal_scores<const N: usize>(values: &[[f64; N]], meters: &[Meter]) -> Vec<[f32; N]> {
    let mut out = vec![[0f32; N]; values.len()];
    for meter in Meter::ALL {
        let members: Vec<usize> = (0..values.len()).filter(|&i| meters[i] == meter).collect();
        let n = members.len() as f64;
        for k in 0..N {
            let column: Vec<f64> = members.iter().map(|&i| values[i][k]).collect();
            for (&i, rank) in members.iter().zip(ranks(&column)) {
                out[i][k] = inverse_normal((rank - 0.5) / n) as f32;
            }
        }
    }
    out
}

/// Φ⁻¹(p) for 0 < p < 1: Acklam's rational approximation (relative error below 1.2e-9).
pub fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] =
        [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_normal_matches_the_table() {
        // Standard normal quantiles from printed tables.
        for (p, x) in [(0.5, 0.0), (0.975, 1.959964), (0.841345, 1.0), (0.001, -3.090232)] {
            assert!((inverse_normal(p) - x).abs() < 1e-5, "Φ⁻¹({p}) = {}", inverse_normal(p));
        }
    }

    #[test]
    fn scores_are_ranked_within_each_meter() {
        let (waltz, march) = (Meter::parse("3/4").unwrap(), Meter::parse("2/4").unwrap());
        // The 3/4 windows have large values and the 2/4 ones small: each meter still spreads
        // over both sides of 0, and ties share a score.
        let values = [[10.0], [30.0], [20.0], [1.0], [2.0], [2.0]];
        let meters = [waltz, waltz, waltz, march, march, march];
        let s = normal_scores(&values, &meters);
        let third = inverse_normal(5.0 / 6.0) as f32;
        assert!((s[0][0] + third).abs() < 1e-6 && (s[1][0] - third).abs() < 1e-6, "{s:?}");
        assert!(s[2][0].abs() < 1e-6 && (s[3][0] + third).abs() < 1e-6, "{s:?}");
        // The two 2s share ranks 2 and 3: 2.5 → p = 2/3.
        assert!((s[4][0] - inverse_normal(2.0 / 3.0) as f32).abs() < 1e-6 && s[4] == s[5]);
    }
}
