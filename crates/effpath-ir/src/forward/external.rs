//! Activations computed elsewhere (another runtime, a stored fixture): checked against the
//! network and wrapped as [`Activations`], so that extraction can run on them.

use ndarray::ArrayD;

use super::{Activations, Mode};
use crate::error::{IrError, NonFiniteTensor, Result};
use crate::graph::{Network, ValueId};

impl Activations {
    /// Wraps the tensors of an inference-mode forward pass computed elsewhere: `values[0]` is
    /// the input and `values[i + 1]` the output of node `i`, each `(batch, per-sample shape)`
    /// with one common batch size ≥ 1. Errors ([`IrError::ActivationShape`]) on a wrong count
    /// or shape, and ([`IrError::NonFinite`]) on NaN or infinity.
    ///
    /// ```
    /// let net = effpath_ir::zoo::lenet5(0);
    /// let x = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[1, 1, 28, 28]));
    /// let acts = net.forward(&x)?;
    /// let again = effpath_ir::Activations::from_values(&net, acts.values().to_vec())?;
    /// assert_eq!(again.logits(), acts.logits());
    /// assert!(effpath_ir::Activations::from_values(&net, vec![]).is_err());
    /// # Ok::<(), effpath_ir::IrError>(())
    /// ```
    pub fn from_values(net: &Network, values: Vec<ArrayD<f32>>) -> Result<Self> {
        let count = net.nodes().len() + 1;
        if values.len() != count {
            return Err(IrError::ActivationShape {
                value: count,
                expected: Vec::new(),
                got: Vec::new(),
                count,
            });
        }
        let batch = values[0].shape().first().copied().unwrap_or(0).max(1);
        for (v, a) in values.iter().enumerate() {
            let mut expected = vec![batch];
            expected.extend_from_slice(net.shape(ValueId(v)));
            if a.shape() != expected.as_slice() {
                return Err(IrError::ActivationShape {
                    value: v,
                    expected,
                    got: a.shape().to_vec(),
                    count,
                });
            }
            if let Some(index) = a.iter().position(|x| !x.is_finite()) {
                return Err(IrError::NonFinite {
                    tensor: NonFiniteTensor::Activation { value: v },
                    index,
                });
            }
        }
        Ok(Activations {
            values,
            logits: net.logits(),
            mode: Mode::Inference,
            batch_stats: Vec::new(),
        })
    }
}
