//! Whether the named knobs do what their names say: each knob swept over its range from many
//! base points, its attribute measured on the melodies that come out (Spearman ρ with the
//! knob value, linearity R²), and how much it moves the other attributes, read against how
//! those attributes go together in real tunes.

use neume::encoding::{Melody, Meter};
use neume::model::runtime::Generator;
use neume::music::attributes::Attribute;
use neume::sampling::generate::{generate, GenerateOptions};

/// Knob values of a sweep, in standard deviations: the plugin knob's whole range.
pub const SWEEP: [f32; 9] = [-3.0, -2.25, -1.5, -0.75, 0.0, 0.75, 1.5, 2.25, 3.0];

/// One named knob's figures, means over the base points.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KnobRow {
    /// The knob (its attribute's name).
    pub name: String,
    /// Base points swept.
    pub bases: usize,
    /// Spearman ρ between knob value and its attribute.
    pub rho: f64,
    /// Linearity: R² of a straight line through (knob value, attribute).
    pub r2: f64,
    /// Per other attribute: its name, the |mean ρ| of it with this knob's value (signed ρ
    /// averaged over the bases, so that sampling noise cancels), and the |ρ| between it and
    /// this knob's attribute in real windows (what moving one would move anyway).
    pub others: Vec<(String, f64, f64)>,
}

/// Ranks with ties averaged (1-based).
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut out = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Pearson correlation; 0 when either side does not vary.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Spearman rank correlation.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Spearman ρ between every two attributes over real windows: `[i][j]`.
pub fn real_correlations(windows: &[(Melody, Meter)]) -> [[f64; 5]; 5] {
    let values: Vec<[f64; 5]> =
        windows.iter().map(|(m, meter)| Attribute::measure_all(m, *meter)).collect();
    let column = |k: usize| values.iter().map(|v| v[k]).collect::<Vec<_>>();
    let mut out = [[1.0; 5]; 5];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            if i != j {
                *cell = spearman(&column(i), &column(j));
            }
        }
    }
    out
}

/// Sweeps each of the model's named knobs over [`SWEEP`] from `bases` base points (seeds
/// from `seed`), 4-bar melodies in `meter` at the model's temperature, over `chords` when
/// given; every value of one base shares its seed, so only the knob differs.
pub fn sweep(
    generator: &mut Generator,
    meter: Meter,
    bases: usize,
    seed: u64,
    real: &[[f64; 5]; 5],
    chords: Option<&neume::music::chords::Progression>,
) -> Result<Vec<KnobRow>, String> {
    let info = generator.info().clone();
    let mut rows = Vec::new();
    for (slot, &(attribute, ..)) in info.knob_attributes.iter().enumerate() {
        let own = Attribute::ALL.iter().position(|&a| a == attribute).unwrap_or(0);
        let (mut rho, mut r2) = (0.0, 0.0);
        let mut others = vec![0.0; Attribute::ALL.len()];
        for base in 0..bases {
            let mut measured: Vec<[f64; 5]> = Vec::with_capacity(SWEEP.len());
            for &value in &SWEEP {
                let mut knobs = [0f32; 8];
                knobs[slot] = value;
                let options = GenerateOptions {
                    bars: 4,
                    seed: seed + base as u64,
                    shift: Some(info.knob_shift(&knobs)),
                    meter,
                    chords: chords.cloned(),
                    ..GenerateOptions::default()
                };
                let melody = generate(generator, &options).map_err(|e| e.to_string())?;
                measured.push(Attribute::measure_all(&melody, meter));
            }
            let x: Vec<f64> = SWEEP.iter().map(|&v| f64::from(v)).collect();
            let column = |k: usize| measured.iter().map(|m| m[k]).collect::<Vec<_>>();
            rho += spearman(&x, &column(own));
            r2 += pearson(&x, &column(own)).powi(2);
            for (k, other) in others.iter_mut().enumerate() {
                *other += spearman(&x, &column(k));
            }
        }
        let n = bases.max(1) as f64;
        rows.push(KnobRow {
            name: attribute.name().to_string(),
            bases,
            rho: rho / n,
            r2: r2 / n,
            others: Attribute::ALL
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != own)
                .map(|(k, a)| (a.name().to_string(), (others[k] / n).abs(), real[own][k].abs()))
                .collect(),
        });
    }
    Ok(rows)
}

/// Prints the knob table.
pub fn print_table(rows: &[KnobRow]) {
    println!(
        "{:<9} {:>5} {:>6} {:>6}  others: |ρ| with the knob (|ρ| in real windows)",
        "knob", "bases", "ρ", "R²"
    );
    for row in rows {
        let others: Vec<String> = row
            .others
            .iter()
            .map(|(name, knob, real)| format!("{name} {knob:.2} ({real:.2})"))
            .collect();
        println!(
            "{:<9} {:>5} {:>6.3} {:>6.3}  {}",
            row.name,
            row.bases,
            row.rho,
            row.r2,
            others.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_correlations() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((spearman(&x, &[1.0, 4.0, 9.0, 16.0, 100.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&x, &[5.0, 4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Ties share their rank: ranks of y are 1.5, 1.5, 3, 4, 5.
        let r = spearman(&x, &[1.0, 1.0, 2.0, 3.0, 4.0]);
        assert!((r - pearson(&x, &[1.5, 1.5, 3.0, 4.0, 5.0])).abs() < 1e-12 && r < 1.0);
        assert_eq!(pearson(&x, &[2.0; 5]), 0.0);
    }
}
