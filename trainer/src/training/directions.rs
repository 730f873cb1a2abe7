//! The main directions of variation of a VAE's latent space, measured on training data:
//! principal components of the posterior means of training windows. They go into the model's
//! metadata (`neume.latent_directions`, `neume.latent_scales`), and the plugin's latent knobs
//! move along them, strongest first. A model without them (one trained elsewhere) gets latent axes.

use std::collections::BTreeMap;

use burn::prelude::*;
use neume::model::model_file::meta;

use neume::music::attributes::Attribute;

use crate::data::{one_hot, Window};
use crate::model::{Encoder, ModelShape};

/// How many directions a model carries (the plugin has eight latent knobs).
pub const DIRECTIONS: usize = 8;

/// At most this many training windows are encoded (evenly spread over the set).
const MAX_WINDOWS: usize = 8192;

/// The knobs' directions, measured on the posterior means of `windows`, with the standard
/// deviation of the data along each, `(std, unit vector)`: first the latent axes 0..`named`
/// (the attribute-tied dimensions), then the principal directions of what remains with those
/// axes taken out, strongest first; [`DIRECTIONS`] in all. The last `detail` dimensions (a
/// detail code, not moved by knobs) are left out.
pub fn measure(
    encoder: &Encoder,
    windows: &[Window],
    shape: &ModelShape,
    named: usize,
    detail: usize,
    device: &Device,
) -> Vec<(f32, Vec<f32>)> {
    let width = shape.latent;
    let latent = width.saturating_sub(detail);
    let stride = windows.len().div_ceil(MAX_WINDOWS).max(1);
    let chosen: Vec<&[u8]> = windows.iter().step_by(stride).map(|w| w.tokens.as_slice()).collect();
    let mut means: Vec<Vec<f64>> = Vec::with_capacity(chosen.len());
    for batch in chosen.chunks(256) {
        let (mu, _) = encoder.forward(one_hot(batch, shape.encoder_steps(), device));
        let flat = mu.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 means");
        means.extend(
            flat.chunks(width).map(|row| row[..latent].iter().map(|&v| f64::from(v)).collect()),
        );
    }
    let named = named.min(latent).min(DIRECTIONS);
    let n = means.len().max(2) as f64;
    let mut out: Vec<(f32, Vec<f32>)> = (0..named)
        .map(|k| {
            let mean = means.iter().map(|r| r[k]).sum::<f64>() / n;
            let var = means.iter().map(|r| (r[k] - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let mut axis = vec![0.0; latent];
            axis[k] = 1.0;
            (var.sqrt() as f32, axis)
        })
        .collect();
    for row in &mut means {
        row[..named].iter_mut().for_each(|v| *v = 0.0);
    }
    out.extend(principal_directions(&means, DIRECTIONS.min(latent) - named));
    out
}

/// The `count` leading principal components of `rows`: `(std, unit vector)`. Each vector's
/// largest component is made positive, so the sign does not flip between runs.
pub fn principal_directions(rows: &[Vec<f64>], count: usize) -> Vec<(f32, Vec<f32>)> {
    let Some(dim) = rows.first().map(Vec::len) else { return Vec::new() };
    let n = rows.len() as f64;
    let mean: Vec<f64> = (0..dim).map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n).collect();
    let mut cov = vec![vec![0.0; dim]; dim];
    for r in rows {
        for i in 0..dim {
            for j in 0..dim {
                cov[i][j] += (r[i] - mean[i]) * (r[j] - mean[j]) / (n - 1.0).max(1.0);
            }
        }
    }
    let (values, vectors) = jacobi_eigen(cov);
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order
        .into_iter()
        .take(count)
        .map(|k| {
            let mut v: Vec<f64> = (0..dim).map(|i| vectors[i][k]).collect();
            let largest =
                v.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if largest < 0.0 {
                v.iter_mut().for_each(|x| *x = -*x);
            }
            (values[k].max(0.0).sqrt() as f32, v.into_iter().map(|x| x as f32).collect())
        })
        .collect()
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix, by cyclic Jacobi rotations.
pub fn jacobi_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> =
        (0..n).map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

/// The metadata entries for `directions` whose first `named` are the latent axes tied to
/// [`Attribute::ALL`] in order ([`meta::KNOB_ATTRIBUTES`]).
pub fn metadata_with_attributes(
    directions: &[(f32, Vec<f32>)],
    named: usize,
) -> BTreeMap<String, String> {
    let mut md = metadata(directions);
    let tied: Vec<String> = Attribute::ALL
        .iter()
        .zip(directions)
        .take(named)
        .enumerate()
        .map(|(dim, (attribute, (scale, _)))| format!("{}={dim}:{scale:.6}", attribute.name()))
        .collect();
    if !tied.is_empty() {
        md.insert(meta::KNOB_ATTRIBUTES.to_string(), tied.join(","));
    }
    md
}

/// The metadata entries for `directions`.
pub fn metadata(directions: &[(f32, Vec<f32>)]) -> BTreeMap<String, String> {
    if directions.is_empty() {
        return BTreeMap::new();
    }
    let join = |v: &[f32]| v.iter().map(|x| format!("{x:.6}")).collect::<Vec<_>>().join(",");
    BTreeMap::from([
        (
            meta::LATENT_DIRECTIONS.to_string(),
            directions.iter().map(|(_, d)| join(d)).collect::<Vec<_>>().join(";"),
        ),
        (
            meta::LATENT_SCALES.to_string(),
            join(&directions.iter().map(|(s, _)| *s).collect::<Vec<_>>()),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use neume::rng::Rng;

    #[test]
    fn finds_the_axes_of_a_known_distribution() {
        // Points spread 3 along (1, 1, 0)/√2, 1 along (1, -1, 0)/√2 and 0.2 along z.
        let mut rng = Rng::new(3);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let rows: Vec<Vec<f64>> = (0..20_000)
            .map(|_| {
                let (a, b, c) = (3.0 * rng.normal(), rng.normal(), 0.2 * rng.normal());
                vec![s * (a + b), s * (a - b), c]
            })
            .collect();
        let dirs = principal_directions(&rows, 2);
        assert!((dirs[0].0 - 3.0).abs() < 0.1 && (dirs[1].0 - 1.0).abs() < 0.05, "{dirs:?}");
        assert!((dirs[0].1[0] - s as f32).abs() < 0.01 && (dirs[0].1[1] - s as f32).abs() < 0.01);
        assert!((dirs[1].1[0].abs() - s as f32).abs() < 0.01 && dirs[1].1[2].abs() < 0.02);
        let md = metadata(&dirs);
        let info_dirs = md[meta::LATENT_DIRECTIONS].split(';').count();
        assert_eq!(info_dirs, 2);
    }
}
