//! The small dense linear algebra the baselines need: the pseudo-inverse of a symmetric
//! positive semi-definite matrix (cyclic Jacobi eigendecomposition), in `f64`.
//!
//! The matrices are covariances of layer features (tens to a few hundred dimensions), so an
//! `O(d³)` method per sweep is cheap next to computing the features.

use ndarray::{Array2, ArrayView2};

/// Relative tolerance below which an eigenvalue counts as zero in [`pinv_symmetric`] (as
/// `scipy.linalg.pinvh`'s default: machine epsilon × dimension, relative to the largest).
fn cutoff(d: usize, largest: f64) -> f64 {
    f64::EPSILON * d.max(1) as f64 * largest
}

/// Eigenvalues and eigenvectors (columns) of the symmetric matrix `a`, by cyclic Jacobi
/// rotations until the off-diagonal mass is negligible.
pub(crate) fn eigh(a: ArrayView2<f64>) -> (Vec<f64>, Array2<f64>) {
    let d = a.nrows();
    let mut m = a.to_owned();
    let mut v = Array2::<f64>::eye(d);
    let scale: f64 = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[[i, j]] * m[[i, j]])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * scale || scale == 0.0 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = m[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[[p, p]], m[[q, q]]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (mkp, mkq) = (m[[k, p]], m[[k, q]]);
                    m[[k, p]] = c * mkp - s * mkq;
                    m[[k, q]] = s * mkp + c * mkq;
                }
                for k in 0..d {
                    let (mpk, mqk) = (m[[p, k]], m[[q, k]]);
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| m[[i, i]]).collect(), v)
}

/// The Moore–Penrose pseudo-inverse of a symmetric positive semi-definite matrix: the inverse
/// on the span of its eigenvectors with eigenvalues above [`cutoff`], zero on the rest (a
/// feature that never varies — a dead channel — adds nothing to a distance).
pub(crate) fn pinv_symmetric(a: ArrayView2<f64>) -> Array2<f64> {
    let d = a.nrows();
    let (values, vectors) = eigh(a);
    let largest = values.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
    let tol = cutoff(d, largest);
    let mut out = Array2::<f64>::zeros((d, d));
    for (k, &lambda) in values.iter().enumerate() {
        if lambda.abs() <= tol || lambda <= 0.0 {
            continue;
        }
        let col = vectors.column(k);
        for i in 0..d {
            let vi = col[i] / lambda;
            for j in 0..d {
                out[[i, j]] += vi * col[j];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn inverse_of_a_definite_matrix() {
        let a = array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let inv = pinv_symmetric(a.view());
        assert!(close(&a.dot(&inv), &Array2::eye(3), 1e-12));
    }

    #[test]
    fn pseudo_inverse_of_a_singular_matrix() {
        // Rank 1: v vᵀ with v = (1, 2, 0); its pseudo-inverse is v vᵀ / |v|⁴.
        let a = array![[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 0.0]];
        let want = &a / 25.0;
        assert!(close(&pinv_symmetric(a.view()), &want, 1e-12));
        // The Penrose conditions A A⁺ A = A.
        let p = pinv_symmetric(a.view());
        assert!(close(&a.dot(&p).dot(&a), &a, 1e-12));
    }

    #[test]
    fn eigenpairs_reconstruct_the_matrix() {
        let a = array![[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]];
        let (values, v) = eigh(a.view());
        let d = Array2::from_diag(&ndarray::Array1::from(values));
        assert!(close(&v.dot(&d).dot(&v.t()), &a, 1e-12));
    }
}
