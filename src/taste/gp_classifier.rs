//! Gaussian-process classification of liked and disliked latent points (Laplace
//! approximation; Rasmussen & Williams 2006, algorithms 3.1 and 3.2), and joint draws of the
//! latent function at new points for Thompson sampling. The kernel is a squared exponential
//! (a liking for regions) plus a linear term (a leaning along a direction).

use crate::rng::Rng;
use crate::taste::linalg::{cholesky, forward_substitute, solve};

// The kernel's settings were chosen with `neume-train listener-bench` (README).
/// Signal variance of the squared-exponential term.
const REGION_VARIANCE: f64 = 0.5;
/// Its length scale, in prior standard deviations: two prior draws lie about √(2n) apart (5.7
/// in 16 dimensions), a point and a variation of it (spread 0.35) about 1.4.
const LENGTH_SCALE: f64 = 2.0;
/// Variance of the linear term per unit of z·z′/n.
const LEANING_VARIANCE: f64 = 8.0;
/// Newton steps of the mode search, at most.
const STEPS: usize = 30;
/// Added to the diagonal of a joint covariance before its factorisation.
const JITTER: f64 = 1e-6;

/// The posterior over the latent "liking" function given rated points.
#[derive(Clone, Debug)]
pub struct GpClassifier {
    points: Vec<Vec<f32>>,
    /// ∇ log p(y | f̂): t − π at the mode (the predictive mean's weights).
    gradient: Vec<f64>,
    /// √W at the mode.
    sqrt_w: Vec<f64>,
    /// Cholesky factor of B = I + √W K √W (row-major, lower).
    b_factor: Vec<f64>,
}

fn kernel(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().max(1) as f64;
    let (mut distance, mut product) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        distance += (x - y) * (x - y);
        product += x * y;
    }
    REGION_VARIANCE * (-distance / (2.0 * LENGTH_SCALE * LENGTH_SCALE)).exp()
        + LEANING_VARIANCE * product / n
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl GpClassifier {
    /// The posterior from `rated` points (+1 liked, −1 disliked).
    pub fn fit(rated: &[(Vec<f32>, i8)]) -> GpClassifier {
        let n = rated.len();
        let points: Vec<Vec<f32>> = rated.iter().map(|(z, _)| z.clone()).collect();
        let targets: Vec<f64> = rated.iter().map(|&(_, r)| if r > 0 { 1.0 } else { 0.0 }).collect();
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                k[i * n + j] = kernel(&points[i], &points[j]);
            }
        }
        let mut f = vec![0.0; n];
        let mut state = Self::at(&k, &targets, &f);
        for _ in 0..STEPS {
            let (gradient, sqrt_w, b_factor) = &state;
            // b = W f + ∇;  a = b − √W B⁻¹ √W K b;  f = K a.
            let b: Vec<f64> = (0..n).map(|i| sqrt_w[i] * sqrt_w[i] * f[i] + gradient[i]).collect();
            let kb = mat_vec(&k, n, &b);
            let scaled: Vec<f64> = (0..n).map(|i| sqrt_w[i] * kb[i]).collect();
            let solved = solve(b_factor, n, &scaled);
            let a: Vec<f64> = (0..n).map(|i| b[i] - sqrt_w[i] * solved[i]).collect();
            let next = mat_vec(&k, n, &a);
            let change = next.iter().zip(&f).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            f = next;
            state = Self::at(&k, &targets, &f);
            if change < 1e-8 {
                break;
            }
        }
        let (gradient, sqrt_w, b_factor) = state;
        GpClassifier { points, gradient, sqrt_w, b_factor }
    }

    /// ∇ log p(y | f), √W and the factor of B at `f`.
    fn at(k: &[f64], targets: &[f64], f: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = f.len();
        let pi: Vec<f64> = f.iter().map(|&v| sigmoid(v)).collect();
        let gradient: Vec<f64> = targets.iter().zip(&pi).map(|(t, p)| t - p).collect();
        let sqrt_w: Vec<f64> = pi.iter().map(|p| (p * (1.0 - p)).sqrt()).collect();
        let mut b = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                b[i * n + j] =
                    sqrt_w[i] * k[i * n + j] * sqrt_w[j] + if i == j { 1.0 } else { 0.0 };
            }
        }
        // I + W½ K W½ has every eigenvalue at least 1: positive definite.
        let floored = cholesky(&mut b, n);
        debug_assert_eq!(floored, 0, "I + W½KW½ is positive definite");
        (gradient, sqrt_w, b)
    }

    /// Posterior mean and covariance of the latent function at `candidates`.
    pub fn predict(&self, candidates: &[Vec<f32>]) -> (Vec<f64>, Vec<f64>) {
        let n = self.points.len();
        let m = candidates.len();
        let mut mean = vec![0.0; m];
        let mut v = Vec::with_capacity(m);
        for (c, z) in candidates.iter().enumerate() {
            let k_star: Vec<f64> = self.points.iter().map(|p| kernel(p, z)).collect();
            mean[c] = k_star.iter().zip(&self.gradient).map(|(a, b)| a * b).sum();
            let scaled: Vec<f64> = (0..n).map(|i| self.sqrt_w[i] * k_star[i]).collect();
            v.push(forward_substitute(&self.b_factor, n, &scaled));
        }
        let mut cov = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..=i {
                let shared: f64 = v[i].iter().zip(&v[j]).map(|(a, b)| a * b).sum();
                let value = kernel(&candidates[i], &candidates[j]) - shared;
                cov[i * m + j] = value;
                cov[j * m + i] = value;
            }
        }
        (mean, cov)
    }

    /// The index of the candidate whose value in one joint posterior draw is highest.
    pub fn thompson(&self, candidates: &[Vec<f32>], rng: &mut Rng) -> usize {
        let m = candidates.len();
        let (mean, mut cov) = self.predict(candidates);
        for i in 0..m {
            cov[i * m + i] += JITTER;
            for j in i + 1..m {
                cov[i * m + j] = 0.0;
            }
        }
        // A posterior covariance can be singular (two candidates at one point): the jitter
        // above, and pivots floored below it, keep the draw defined.
        let _singular_directions = cholesky(&mut cov, m);
        let noise: Vec<f64> = (0..m).map(|_| rng.normal()).collect();
        (0..m)
            .map(|i| mean[i] + (0..=i).map(|k| cov[i * m + k] * noise[k]).sum::<f64>())
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(i, _)| i)
    }
}

fn mat_vec(m: &[f64], n: usize, x: &[f64]) -> Vec<f64> {
    (0..n).map(|i| (0..n).map(|j| m[i * n + j] * x[j]).sum()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Liked points around (2, 0), disliked around (−2, 0): the posterior mean is positive
    /// near the likes, negative near the dislikes, and Thompson picks the liked side.
    #[test]
    fn the_posterior_separates_likes_from_dislikes() {
        let mut rng = Rng::new(5);
        let mut rated = Vec::new();
        for i in 0..12 {
            let x = if i % 2 == 0 { 2.0 } else { -2.0 };
            let z = vec![x + 0.3 * rng.normal() as f32, 0.3 * rng.normal() as f32];
            rated.push((z, if i % 2 == 0 { 1 } else { -1 }));
        }
        let gp = GpClassifier::fit(&rated);
        let candidates = vec![vec![2.0, 0.0], vec![-2.0, 0.0]];
        let (mean, cov) = gp.predict(&candidates);
        assert!(mean[0] > 1.0 && mean[1] < -1.0, "{mean:?}");
        assert!(cov[0] < kernel(&candidates[0], &candidates[0]), "the data narrow the posterior");
        let picks = (0..200).filter(|_| gp.thompson(&candidates, &mut rng) == 0).count();
        assert!(picks > 180, "{picks}");
    }
}
