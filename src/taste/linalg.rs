//! Small dense linear algebra for the listener's models (`preference`, `gp_classifier`):
//! Cholesky factors of symmetric positive definite matrices (row-major) and solves with them.

/// The smallest pivot [`cholesky`] takes: a smaller one (a matrix that is only positive
/// semidefinite in floating point, or not at all) is floored to it.
pub const MIN_PIVOT: f64 = 1e-12;

/// Replaces the lower triangle of the symmetric positive definite `m` (d × d, row-major, lower
/// triangle filled) by its Cholesky factor L (m = L Lᵀ); the upper triangle is zeroed.
/// Returns how many pivots were below [`MIN_PIVOT`] (or not numbers) and were floored to it:
/// 0 for a positive definite matrix; a caller that has one says what more means.
#[must_use = "a floored pivot means the matrix was not positive definite"]
pub fn cholesky(m: &mut [f64], d: usize) -> usize {
    let mut floored = 0;
    for j in 0..d {
        let mut diagonal = m[j * d + j];
        for k in 0..j {
            diagonal -= m[j * d + k] * m[j * d + k];
        }
        // `!(x >= MIN_PIVOT)` also catches NaN, which `max` would pass over silently.
        if !(diagonal >= MIN_PIVOT) {
            floored += 1;
        }
        let diagonal = if diagonal >= MIN_PIVOT { diagonal } else { MIN_PIVOT }.sqrt();
        m[j * d + j] = diagonal;
        for i in j + 1..d {
            let mut v = m[i * d + j];
            for k in 0..j {
                v -= m[i * d + k] * m[j * d + k];
            }
            m[i * d + j] = v / diagonal;
        }
        for k in j + 1..d {
            m[j * d + k] = 0.0;
        }
    }
    floored
}

/// Solves L y = b for lower-triangular `l`.
pub fn forward_substitute(l: &[f64], d: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; d];
    for i in 0..d {
        let s: f64 = (0..i).map(|k| l[i * d + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * d + i];
    }
    y
}

/// Solves Lᵀ x = y for lower-triangular `l`.
pub fn back_substitute(l: &[f64], d: usize, y: &[f64]) -> Vec<f64> {
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        let s: f64 = (i + 1..d).map(|k| l[k * d + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * d + i];
    }
    x
}

/// Solves (L Lᵀ) x = b.
pub fn solve(l: &[f64], d: usize, b: &[f64]) -> Vec<f64> {
    back_substitute(l, d, &forward_substitute(l, d, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_that_is_not_positive_definite_says_so() {
        // [[1, 1], [1, 1]] is singular: its second pivot is 0 (by hand).
        let mut singular = vec![1.0, 0.0, 1.0, 1.0];
        assert_eq!(cholesky(&mut singular, 2), 1);
        let mut broken = vec![f64::NAN, 0.0, 0.0, 1.0];
        assert_eq!(cholesky(&mut broken, 2), 1, "a NaN pivot is counted, not passed over");
        let mut fine = vec![4.0, 0.0, 2.0, 3.0];
        assert_eq!(cholesky(&mut fine, 2), 0);
    }

    #[test]
    fn the_factor_solves_a_known_system() {
        // [[4, 2], [2, 3]] x = [2, 1] has x = [0.5, 0] (worked by hand).
        let mut m = vec![4.0, 0.0, 2.0, 3.0];
        assert_eq!(cholesky(&mut m, 2), 0);
        assert!((m[0] - 2.0).abs() < 1e-12 && (m[2] - 1.0).abs() < 1e-12);
        assert!((m[3] - 2f64.sqrt()).abs() < 1e-12);
        let x = solve(&m, 2, &[2.0, 1.0]);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
    }
}
