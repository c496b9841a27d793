//! Losses on the logits, with their gradients (to seed [`crate::Network::backward`]).

use ndarray::Array2;

use crate::error::{IrError, Result, ShapeIssue};

/// Mean softmax cross-entropy of `logits` `(batch, classes)` against integer `labels`, and
/// its gradient with respect to the logits: `(softmax(z) − onehot(label)) / batch`.
/// Computed in `f64` with the usual max shift, so large logits do not overflow.
///
/// Errors ([`IrError::Shape`]): `labels.len()` differs from the batch size, a label is not
/// below the class count, or the batch is empty.
///
/// ```
/// use ndarray::array;
/// let (loss, grad) = effpath_ir::softmax_cross_entropy(&array![[0.0, 0.0]], &[1])?;
/// assert!((loss - std::f32::consts::LN_2).abs() < 1e-6);
/// assert_eq!(grad, array![[0.5, -0.5]]);
/// # Ok::<(), effpath_ir::IrError>(())
/// ```
pub fn softmax_cross_entropy(logits: &Array2<f32>, labels: &[usize]) -> Result<(f32, Array2<f32>)> {
    let (b, k) = logits.dim();
    let error = |issue: ShapeIssue| IrError::Shape {
        node: "labels".into(),
        op: "SoftmaxCrossEntropy",
        issue: Box::new(issue),
    };
    if b == 0 || labels.len() != b {
        return Err(error(ShapeIssue::LabelCount {
            labels: labels.len(),
            batch: b,
        }));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= k) {
        return Err(error(ShapeIssue::Label {
            label: l,
            sample: i,
            classes: k,
        }));
    }
    let mut grad = Array2::<f32>::zeros((b, k));
    let mut total = 0f64;
    for ((row, mut g), &label) in logits.outer_iter().zip(grad.outer_iter_mut()).zip(labels) {
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
        let z: f64 = row.iter().map(|&v| (v as f64 - m).exp()).sum();
        total += m + z.ln() - row[label] as f64;
        for (j, (gv, &v)) in g.iter_mut().zip(row).enumerate() {
            let p = (v as f64 - m).exp() / z;
            let onehot = if j == label { 1.0 } else { 0.0 };
            *gv = ((p - onehot) / b as f64) as f32;
        }
    }
    Ok(((total / b as f64) as f32, grad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let logits = Array2::from_shape_fn((3, 5), |_| rng.random_range(-3.0f32..3.0));
        let labels = [4, 0, 2];
        let (loss, grad) = softmax_cross_entropy(&logits, &labels).unwrap();
        assert!(loss > 0.0);
        let eps = 1e-2f32;
        for i in 0..3 {
            for j in 0..5 {
                let mut p = logits.clone();
                p[[i, j]] += eps;
                let mut m = logits.clone();
                m[[i, j]] -= eps;
                let lp = softmax_cross_entropy(&p, &labels).unwrap().0 as f64;
                let lm = softmax_cross_entropy(&m, &labels).unwrap().0 as f64;
                let fd = (lp - lm) / (2.0 * eps as f64);
                let an = grad[[i, j]] as f64;
                assert!((fd - an).abs() < 1e-3, "({i}, {j}): fd {fd} vs {an}");
            }
        }
        // Rows of the gradient sum to 0.
        for row in grad.outer_iter() {
            assert!(row.sum().abs() < 1e-6);
        }
    }

    #[test]
    fn cross_entropy_is_stable_and_checks_labels() {
        let logits = Array2::from_shape_vec((1, 3), vec![1000.0, 0.0, -1000.0]).unwrap();
        let (loss, grad) = softmax_cross_entropy(&logits, &[0]).unwrap();
        assert!(loss.abs() < 1e-6 && grad.iter().all(|v| v.is_finite()));
        assert!(softmax_cross_entropy(&logits, &[3]).is_err());
        assert!(softmax_cross_entropy(&logits, &[0, 1]).is_err());
        assert!(softmax_cross_entropy(&Array2::zeros((0, 3)), &[]).is_err());
    }
}
