//! [`Classifier`]: a network plus its input normalisation, seen from `[0, 1]` pixel space.

use effpath_data::Normalization;
use effpath_ir::{Activations, Network, ValueId};
use ndarray::{Array2, Array4, ArrayD, Axis, Ix4};

use crate::error::{AttackError, InputIssue, ModelIssue, Result};

/// A network seen from `[0, 1]` pixel space: inputs are `(N, C, H, W)` batches of pixels, the
/// normalisation `(x − mean) / std` is applied inside, and gradients are taken with respect
/// to the pixels (chain rule through the normalisation: `d/dx = (d/dz) / std`), as foolbox's
/// `preprocessing=(mean, std)` does.
///
/// ```
/// use effpath_attack::Classifier;
/// use effpath_data::Normalization;
/// use ndarray::Array4;
/// let net = effpath_ir::zoo::lenet5(0);
/// let clf = Classifier::new(&net, Normalization::MNIST)?;
/// let x = Array4::<f32>::from_elem((2, 1, 28, 28), 0.5);
/// assert_eq!(clf.logits(&x)?.dim(), (2, 10));
/// assert_eq!(clf.predict(&x)?.len(), 2);
/// # Ok::<(), effpath_attack::AttackError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Classifier<'a> {
    net: &'a Network,
    normalization: Normalization,
}

impl<'a> Classifier<'a> {
    /// Wraps `net`, whose per-sample input must be `(C, H, W)`.
    pub fn new(net: &'a Network, normalization: Normalization) -> Result<Self> {
        if net.input_shape().len() != 3 {
            return Err(AttackError::Model(ModelIssue::InputRank {
                shape: net.input_shape().to_vec(),
            }));
        }
        if net.num_classes() < 2 {
            return Err(AttackError::Model(ModelIssue::Classes {
                classes: net.num_classes(),
            }));
        }
        Ok(Classifier { net, normalization })
    }

    /// The wrapped network.
    pub fn network(&self) -> &'a Network {
        self.net
    }

    /// The input normalisation applied inside.
    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// Number of output classes.
    pub fn num_classes(&self) -> usize {
        self.net.num_classes()
    }

    /// Per-sample input shape `[C, H, W]`.
    pub fn input_shape(&self) -> [usize; 3] {
        let s = self.net.input_shape();
        [s[0], s[1], s[2]]
    }

    fn normalized(&self, x: &Array4<f32>) -> ArrayD<f32> {
        let mut z = x.clone().into_dyn();
        self.normalization.apply(&mut z);
        z
    }

    /// Logits `(N, classes)` of a batch of pixel images.
    pub fn logits(&self, x: &Array4<f32>) -> Result<Array2<f32>> {
        Ok(self.net.predict(&self.normalized(x))?)
    }

    /// Predicted classes (argmax of the logits, first maximum on ties) of a batch.
    pub fn predict(&self, x: &Array4<f32>) -> Result<Vec<usize>> {
        Ok(argmax_rows(&self.logits(x)?))
    }

    /// Runs the forward pass and keeps the activations, so that several gradients (one per
    /// [`Forward::backward`]) can be taken at the same point.
    pub fn forward(&self, x: &Array4<f32>) -> Result<Forward<'a>> {
        let acts = self.net.forward(&self.normalized(x))?;
        let logits = acts.logits();
        Ok(Forward {
            clf: *self,
            acts,
            logits,
        })
    }

    /// Logits of `x` and the pixel gradient of a loss defined on the logits:
    /// `grad_fn(logits)` returns `d loss / d logits` `(N, classes)`.
    pub fn gradient<F>(&self, x: &Array4<f32>, grad_fn: F) -> Result<(Array2<f32>, Array4<f32>)>
    where
        F: FnOnce(&Array2<f32>) -> Result<Array2<f32>>,
    {
        let fwd = self.forward(x)?;
        let g = grad_fn(fwd.logits())?;
        let dx = fwd.backward(&g)?;
        Ok((fwd.logits, dx))
    }
}

/// The activations of one forward pass of a [`Classifier`], from which pixel gradients of
/// any loss on the logits can be taken.
#[derive(Debug)]
pub struct Forward<'a> {
    clf: Classifier<'a>,
    acts: Activations,
    logits: Array2<f32>,
}

impl Forward<'_> {
    /// The logits `(N, classes)`.
    pub fn logits(&self) -> &Array2<f32> {
        &self.logits
    }

    /// Predicted classes (first maximum on ties).
    pub fn predictions(&self) -> Vec<usize> {
        argmax_rows(&self.logits)
    }

    /// The network's activations of this pass (values in model-input space).
    pub fn activations(&self) -> &Activations {
        &self.acts
    }

    /// `d loss / d pixels` `(N, C, H, W)` for a loss on several values of the network:
    /// `seeds` pairs each value with `d loss / d value` (see
    /// [`effpath_ir::Network::backward_input_seeded`]).
    pub fn backward_seeded(&self, seeds: &[(ValueId, &ArrayD<f32>)]) -> Result<Array4<f32>> {
        let mut dx = self.clf.net.backward_input_seeded(&self.acts, seeds)?;
        if let Normalization::MeanStd { std, .. } = self.clf.normalization {
            dx.mapv_inplace(|v| v / std);
        }
        dx.into_dimensionality::<Ix4>()
            .map_err(AttackError::shape("input gradient"))
    }

    /// `d loss / d pixels` `(N, C, H, W)` for `dlogits = d loss / d logits` `(N, classes)`.
    pub fn backward(&self, dlogits: &Array2<f32>) -> Result<Array4<f32>> {
        if dlogits.dim() != self.logits.dim() {
            return Err(InputIssue::LogitGradient {
                expected: self.logits.dim(),
                got: dlogits.dim(),
            }
            .into());
        }
        let net = self.clf.net;
        let mut shape = vec![dlogits.nrows()];
        shape.extend_from_slice(net.shape(net.logits()));
        let g = dlogits
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(shape)
            .map_err(AttackError::shape("logit gradient"))?;
        let mut dx = net.backward_input(&self.acts, &g, net.logits())?;
        if let Normalization::MeanStd { std, .. } = self.clf.normalization {
            dx.mapv_inplace(|v| v / std);
        }
        dx.into_dimensionality::<Ix4>()
            .map_err(AttackError::shape("input gradient"))
    }
}

/// Index of the largest value of each row (the first on ties; NaN never wins).
pub(crate) fn argmax_rows(logits: &Array2<f32>) -> Vec<usize> {
    logits
        .axis_iter(Axis(0))
        .map(|row| argmax(row.iter().copied()))
        .collect()
}

pub(crate) use effpath_ir::argmax;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_gradient_includes_the_normalisation() {
        let net = effpath_ir::zoo::lenet5(4);
        let norm = Normalization::MeanStd {
            mean: 0.1307,
            std: 0.3081,
        };
        let clf = Classifier::new(&net, norm).expect("lenet");
        // Irregular values (a periodic pattern would tie max-pool windows).
        let x = Array4::from_shape_fn((1, 1, 28, 28), |(_, _, h, w)| {
            ((h as f32 * 12.9898 + w as f32 * 78.233).sin() * 43_758.547)
                .fract()
                .abs()
        });
        // Loss = logit 3; finite differences in pixel space.
        let (_, g) = clf
            .gradient(&x, |z| {
                let mut d = Array2::zeros(z.raw_dim());
                d[[0, 3]] = 1.0;
                Ok(d)
            })
            .expect("gradient");
        let eps = 1e-3f32;
        for &(h, w) in &[(10usize, 10usize), (14, 3), (20, 17)] {
            let mut p = x.clone();
            p[[0, 0, h, w]] += eps;
            let mut m = x.clone();
            m[[0, 0, h, w]] -= eps;
            let fd = (clf.logits(&p).expect("p")[[0, 3]] - clf.logits(&m).expect("m")[[0, 3]])
                / (2.0 * eps);
            let an = g[[0, 0, h, w]];
            assert!(
                (fd - an).abs() < 2e-2 * an.abs().max(1.0),
                "({h}, {w}): {fd} vs {an}"
            );
        }
    }
}
