//! CDRP, *critical data routing paths* (Wang et al., CVPR 2018): the baseline the effective
//! path is compared with in the paper (Fig. 8/17–19, Table 1).
//!
//! Per image, one control gate `λ ≥ 0` multiplies every output channel of every convolution
//! and every neuron of every hidden dense layer (all weighted layers but the last, whose
//! outputs are the logits). The gates start at 1 and are learned by momentum SGD on
//!
//! ```text
//! L(λ) = CE(f(x; λ), ŷ) + γ · Σ λ        (λ clipped to [0, λ_max] after every step)
//! ```
//!
//! where `ŷ` is the network's prediction for `x` without gates: the gates keep the
//! prediction while the L1 penalty closes every channel it does not need. The gate vector is
//! the image's "routing path"; [`Cdrp::features`] gives it as detector features.
//!
//! A gate sits on the layer's output *after* its batch norm when one follows (a conv whose
//! only consumer is a batch norm), before the activation. For ReLU networks this is the same
//! as gating after the ReLU (`relu(λ·z) = λ·relu(z)` for `λ ≥ 0`), which is where Wang et al.
//! put it. It is an inserted per-channel affine node ([`BatchNorm::from_affine`] with shift
//! 0), so the gate gradient is that node's `gamma` gradient
//! ([`Network::backward_params_of`]) and no other parameter gradient is computed.
//!
//! ```
//! use effpath_extract::cdrp::{Cdrp, CdrpOptions};
//! let net = effpath_ir::zoo::lenet5(0);
//! let cdrp = Cdrp::new(&net, CdrpOptions { steps: 5, ..CdrpOptions::default() })?;
//! assert_eq!(cdrp.width(), 6 + 16 + 120 + 84); // conv1, conv2, fc1, fc2 (not the logits)
//! let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[1, 28, 28]), 0.3f32);
//! let g = cdrp.gates(&x)?;
//! assert_eq!(g.values.len(), cdrp.width());
//! assert!(g.values.iter().all(|&v| (0.0..=10.0).contains(&v)));
//! # Ok::<(), effpath_extract::ExtractError>(())
//! ```

use effpath_ir::{BatchNorm, Network, Node, Op, ParamGrad, ValueId, softmax_cross_entropy};
use ndarray::{Array1, Array2, ArrayD, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{ExtractError, Result};

/// Hyper-parameters of the gate optimisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdrpOptions {
    /// SGD steps per image (30).
    pub steps: usize,
    /// Learning rate (0.1).
    pub learning_rate: f32,
    /// Momentum (0.9).
    pub momentum: f32,
    /// L1 weight γ of the gate sum (0.05).
    pub l1: f32,
    /// Upper bound of a gate (10, as in the original's clipping).
    pub max_gate: f32,
}

impl Default for CdrpOptions {
    fn default() -> Self {
        CdrpOptions {
            steps: 30,
            learning_rate: 0.1,
            momentum: 0.9,
            l1: 0.05,
            max_gate: 10.0,
        }
    }
}

impl CdrpOptions {
    /// Checks every field once: `steps ≥ 1`, a positive finite learning rate and gate bound,
    /// momentum in [0, 1), a finite non-negative L1 weight.
    fn check(self) -> Result<Self> {
        let bad = |option: &'static str, value: f64, rule: &'static str| {
            Err(ExtractError::CdrpOption {
                option,
                value,
                rule,
            })
        };
        if self.steps == 0 {
            return bad("steps", 0.0, "at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                self.learning_rate.into(),
                "positive and finite",
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad("momentum", self.momentum.into(), "in [0, 1)");
        }
        if !(self.l1.is_finite() && self.l1 >= 0.0) {
            return bad("l1", self.l1.into(), "non-negative and finite");
        }
        if !(self.max_gate.is_finite() && self.max_gate > 0.0) {
            return bad("max_gate", self.max_gate.into(), "positive and finite");
        }
        Ok(self)
    }
}

/// One gated layer: the weighted node (index into the original network's nodes), its name
/// and its number of gates (output channels or neurons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateLayer {
    /// Index of the weighted node in the original network.
    pub node: usize,
    /// Its name.
    pub name: String,
    /// Gates (output channels of a convolution, neurons of a dense layer).
    pub width: usize,
}

/// The learned gates of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Gates {
    /// All gates, layer after layer in [`Cdrp::layers`] order.
    pub values: Array1<f32>,
    /// The prediction without gates, which the optimisation keeps.
    pub label: usize,
    /// Whether the gated network still predicts `label` with the final gates.
    pub kept: bool,
    /// Cross-entropy of the gated logits against `label` at the end.
    pub loss: f32,
}

/// A network prepared for CDRP: the gate nodes inserted, the options checked.
#[derive(Debug, Clone)]
pub struct Cdrp {
    gated: Network,
    layers: Vec<GateLayer>,
    /// Index of each layer's gate node in `gated`.
    gate_nodes: Vec<usize>,
    options: CdrpOptions,
}

impl Cdrp {
    /// Inserts one gate node per gated layer of `net` and checks `options`.
    ///
    /// Errors: [`ExtractError::CdrpOption`] for an option out of range,
    /// [`ExtractError::NoGates`] when `net` has fewer than two weighted layers.
    pub fn new(net: &Network, options: CdrpOptions) -> Result<Cdrp> {
        let options = options.check()?;
        let weighted = net.weighted_nodes();
        let Some((_, hidden)) = weighted.split_last() else {
            return Err(ExtractError::NoGates);
        };
        if hidden.is_empty() {
            return Err(ExtractError::NoGates);
        }
        let consumers = net.consumers();
        // The value each gate multiplies, per hidden weighted node.
        let points: Vec<(usize, ValueId)> = hidden
            .iter()
            .map(|&i| {
                let out = ValueId(i + 1);
                match consumers[out.0].as_slice() {
                    [j] if matches!(net.nodes()[*j].op, Op::BatchNorm(_)) => (i, ValueId(j + 1)),
                    _ => (i, out),
                }
            })
            .collect();
        let mut nodes: Vec<Node> = Vec::with_capacity(net.nodes().len() + points.len());
        let mut map: Vec<ValueId> = vec![ValueId::INPUT];
        let mut layers = Vec::with_capacity(points.len());
        let mut gate_nodes = Vec::with_capacity(points.len());
        for (i, node) in net.nodes().iter().enumerate() {
            nodes.push(Node {
                name: node.name.clone(),
                op: node.op.clone(),
                inputs: node.inputs.iter().map(|v| map[v.0]).collect(),
            });
            map.push(ValueId(nodes.len()));
            if let Some(&(weighted, at)) = points.iter().find(|(_, v)| v.0 == i + 1) {
                let width = net.shape(at)[0];
                let w = &net.nodes()[weighted];
                gate_nodes.push(nodes.len());
                layers.push(GateLayer {
                    node: weighted,
                    name: w.name.clone(),
                    width,
                });
                nodes.push(Node {
                    name: format!("{}/cdrp_gate", w.name),
                    op: Op::BatchNorm(BatchNorm::from_affine(
                        Array1::ones(width),
                        Array1::zeros(width),
                    )),
                    inputs: vec![map[i + 1]],
                });
                map[i + 1] = ValueId(nodes.len());
            }
        }
        let gated = Network::new(
            net.input_name(),
            net.input_shape().to_vec(),
            nodes,
            map[net.output().0],
        )?
        .with_input_normalization(net.input_normalization())?;
        Ok(Cdrp {
            gated,
            layers,
            gate_nodes,
            options,
        })
    }

    /// The gated layers, in forward order.
    pub fn layers(&self) -> &[GateLayer] {
        &self.layers
    }

    /// Total number of gates (the length of a feature row).
    pub fn width(&self) -> usize {
        self.layers.iter().map(|l| l.width).sum()
    }

    /// The options in force.
    pub fn options(&self) -> &CdrpOptions {
        &self.options
    }

    /// Feature names, `<layer>/gate<k>`, in [`Gates::values`] order.
    pub fn names(&self) -> Vec<String> {
        self.layers
            .iter()
            .flat_map(|l| (0..l.width).map(move |k| format!("{}/gate{k}", l.name)))
            .collect()
    }

    /// Learns the gates of one image (per-sample shape, or a batch of one, normalised for
    /// the model).
    pub fn gates(&self, image: &ArrayD<f32>) -> Result<Gates> {
        let mut net = self.gated.clone();
        self.optimise(&mut net, image)
    }

    /// [`Cdrp::gates`] of every image of a batch `(N, per-sample shape…)`, in parallel; the
    /// result does not depend on the thread count.
    pub fn gates_batch(&self, images: &ArrayD<f32>) -> Result<Vec<Gates>> {
        let n = self.check_batch(images)?;
        (0..n)
            .into_par_iter()
            .map_init(
                || self.gated.clone(),
                |net, k| {
                    let x = images.index_axis(Axis(0), k).to_owned();
                    self.optimise(net, &x)
                },
            )
            .collect()
    }

    /// The gates of every image as a feature matrix `(N, width)` in `f64`.
    pub fn features(&self, images: &ArrayD<f32>) -> Result<Array2<f64>> {
        Ok(self.matrix(&self.gates_batch(images)?))
    }

    /// The gate vectors of `gates` (of this network) as a feature matrix `(N, width)`.
    pub fn matrix(&self, gates: &[Gates]) -> Array2<f64> {
        let mut m = Array2::zeros((gates.len(), self.width()));
        for (mut row, g) in m.rows_mut().into_iter().zip(gates) {
            row.assign(&g.values.mapv(f64::from));
        }
        m
    }

    /// Checks that `images` is a batch of this network's inputs; returns its size.
    fn check_batch(&self, images: &ArrayD<f32>) -> Result<usize> {
        let want = self.gated.input_shape();
        if images.ndim() != want.len() + 1 || &images.shape()[1..] != want {
            return Err(effpath_ir::IrError::InputShape {
                expected: want.to_vec(),
                got: images.shape().to_vec(),
            }
            .into());
        }
        Ok(images.shape()[0])
    }

    /// Runs the optimisation for one image on `net` (a copy of the gated network whose gates
    /// are reset here).
    fn optimise(&self, net: &mut Network, image: &ArrayD<f32>) -> Result<Gates> {
        let x = if image.ndim() == self.gated.input_shape().len() {
            image.clone().insert_axis(Axis(0))
        } else {
            image.clone()
        };
        if self.check_batch(&x)? != 1 {
            return Err(effpath_ir::IrError::InputShape {
                expected: self.gated.input_shape().to_vec(),
                got: image.shape().to_vec(),
            }
            .into());
        }
        let o = &self.options;
        let mut gates: Vec<Array1<f32>> =
            self.layers.iter().map(|l| Array1::ones(l.width)).collect();
        self.set_gates(net, &gates);
        let label = argmax(&net.forward(&x)?.logits());
        let mut velocity: Vec<Array1<f32>> = gates.iter().map(|g| Array1::zeros(g.len())).collect();
        let at = net.logits();
        for _ in 0..o.steps {
            let acts = net.forward(&x)?;
            let (_, grad) = softmax_cross_entropy(&acts.logits(), &[label])?;
            let grads = net.backward_params_of(&acts, &grad.into_dyn(), at, &self.gate_nodes)?;
            for ((g, v), &node) in gates.iter_mut().zip(&mut velocity).zip(&self.gate_nodes) {
                // Gate nodes are batch norms, whose gradients `backward_params_of` computes.
                let Some(ParamGrad::BatchNorm { gamma, .. }) = grads.param(node) else {
                    continue;
                };
                ndarray::Zip::from(g)
                    .and(v)
                    .and(gamma)
                    .for_each(|g, v, &d| {
                        *v = o.momentum * *v + d + o.l1;
                        *g = (*g - o.learning_rate * *v).clamp(0.0, o.max_gate);
                    });
            }
            self.set_gates(net, &gates);
        }
        let logits = net.forward(&x)?.logits();
        let (loss, _) = softmax_cross_entropy(&logits, &[label])?;
        let values = Array1::from_iter(gates.iter().flat_map(|g| g.iter().copied()));
        Ok(Gates {
            values,
            label,
            kept: argmax(&logits) == label,
            loss,
        })
    }

    /// Writes `gates` into the gate nodes of `net`.
    fn set_gates(&self, net: &mut Network, gates: &[Array1<f32>]) {
        for (&node, g) in self.gate_nodes.iter().zip(gates) {
            if let Some(mut gamma) = net.parameters_mut(node).into_iter().next() {
                gamma.assign(&g.view().into_dyn());
            }
        }
    }
}

/// Index of the largest logit of the first (only) row (the first maximum on ties).
fn argmax(logits: &Array2<f32>) -> usize {
    effpath_ir::argmax(logits.row(0).iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use effpath_ir::{Conv2d, NetworkBuilder};
    use ndarray::{Array4, IxDyn};

    /// conv 1→3 (1×1; channel 2 dead: weight 0, bias −1) → ReLU → flatten → dense 12→5 → ReLU
    /// → dense 5→2, on 1×2×2 inputs.
    fn tiny() -> Network {
        let mut b = NetworkBuilder::new(vec![1, 2, 2]);
        let w = Array4::from_shape_vec((3, 1, 1, 1), vec![1.0, -1.0, 0.0]).unwrap();
        let conv = Conv2d::new(w, Some(ndarray::array![0.1, 0.2, -1.0]));
        let c = b.conv2d(b.input(), conv).unwrap();
        let r = b.relu(c).unwrap();
        let f = b.flatten(r).unwrap();
        let w1 = Array2::from_shape_fn((5, 12), |(i, j)| ((i * 7 + j * 3) % 5) as f32 * 0.3 - 0.5);
        let d1 = b.dense(f, w1, Some(Array1::from_elem(5, 0.05))).unwrap();
        let r1 = b.relu(d1).unwrap();
        let w2 = Array2::from_shape_fn((2, 5), |(i, j)| if (i + j) % 2 == 0 { 0.8 } else { -0.6 });
        let d2 = b.dense(r1, w2, None).unwrap();
        b.finish(d2).unwrap()
    }

    fn image(v: [f32; 4]) -> ArrayD<f32> {
        ArrayD::from_shape_vec(IxDyn(&[1, 2, 2]), v.to_vec()).unwrap()
    }

    #[test]
    fn a_dead_channel_closes_and_the_prediction_is_kept() {
        let net = tiny();
        let cdrp = Cdrp::new(&net, CdrpOptions::default()).unwrap();
        assert_eq!(
            cdrp.layers().iter().map(|l| l.width).collect::<Vec<_>>(),
            [3, 5]
        );
        for x in [image([0.5, 1.0, 0.2, 0.7]), image([0.9, 0.1, 0.4, 0.3])] {
            let want = argmax(&net.forward(&x).unwrap().logits());
            let g = cdrp.gates(&x).unwrap();
            assert_eq!(g.label, want);
            assert!(g.kept, "prediction lost: {g:?}");
            assert_eq!(
                g.values[2], 0.0,
                "the dead channel's gate stays open: {g:?}"
            );
            assert!(g.values.iter().any(|&v| v > 0.0));
            assert!(g.values.iter().all(|&v| (0.0..=10.0).contains(&v)));
        }
    }

    #[test]
    fn without_the_penalty_the_gates_only_grow_towards_the_prediction() {
        let net = tiny();
        let options = CdrpOptions {
            l1: 0.0,
            ..CdrpOptions::default()
        };
        let cdrp = Cdrp::new(&net, options).unwrap();
        let x = image([0.5, 1.0, 0.2, 0.7]);
        let g = cdrp.gates(&x).unwrap();
        // A dead channel gets no gradient at all: its gate stays at 1.
        assert_eq!(g.values[2], 1.0);
        // The loss cannot be worse than with all gates open.
        let ungated = net.forward(&x).unwrap().logits();
        let (before, _) = softmax_cross_entropy(&ungated, &[g.label]).unwrap();
        assert!(g.loss <= before, "{} > {before}", g.loss);
    }

    #[test]
    fn gates_of_a_batch_equal_the_gates_of_each_image() {
        let net = effpath_ir::zoo::lenet5(3);
        let options = CdrpOptions {
            steps: 4,
            ..CdrpOptions::default()
        };
        let cdrp = Cdrp::new(&net, options).unwrap();
        let x = ArrayD::from_shape_fn(IxDyn(&[3, 1, 28, 28]), |i| {
            ((i[0] * 13 + i[2] * 7 + i[3]) % 17) as f32 / 17.0
        });
        let rows = cdrp.features(&x).unwrap();
        assert_eq!(rows.dim(), (3, cdrp.width()));
        for k in 0..3 {
            let one = cdrp.gates(&x.index_axis(Axis(0), k).to_owned()).unwrap();
            assert_eq!(rows.row(k), one.values.mapv(f64::from));
        }
        assert_eq!(cdrp.names().len(), cdrp.width());
        assert_eq!(cdrp.names()[0], format!("{}/gate0", net.nodes()[0].name));
    }

    #[test]
    fn gates_follow_a_batch_norm_and_skip_the_logits() {
        let mut b = NetworkBuilder::new(vec![1, 2, 2]);
        let w = Array4::from_elem((2, 1, 1, 1), 1.0);
        let c = b.conv2d(b.input(), Conv2d::new(w, None)).unwrap();
        let bn = BatchNorm::from_affine(ndarray::array![2.0, 0.5], ndarray::array![0.1, -0.1]);
        let n = b.batch_norm(c, bn).unwrap();
        let r = b.relu(n).unwrap();
        let f = b.flatten(r).unwrap();
        let d = b.dense(f, Array2::from_elem((3, 8), 0.1), None).unwrap();
        let net = b.finish(d).unwrap();
        let cdrp = Cdrp::new(&net, CdrpOptions::default()).unwrap();
        assert_eq!(cdrp.layers().len(), 1);
        assert_eq!(cdrp.layers()[0].width, 2);
        let gate = &cdrp.gated.nodes()[cdrp.gate_nodes[0]];
        assert_eq!(
            gate.inputs,
            vec![ValueId(2)],
            "the gate reads the batch norm"
        );
        // With all gates at 1 the gated network computes what the network computes.
        let x = image([0.3, -0.2, 0.8, 0.1]);
        assert_eq!(
            cdrp.gated.forward(&x).unwrap().logits(),
            net.forward(&x).unwrap().logits()
        );
    }

    #[test]
    fn bad_options_and_networks_are_refused() {
        let net = tiny();
        for options in [
            CdrpOptions {
                steps: 0,
                ..CdrpOptions::default()
            },
            CdrpOptions {
                learning_rate: 0.0,
                ..CdrpOptions::default()
            },
            CdrpOptions {
                momentum: 1.0,
                ..CdrpOptions::default()
            },
            CdrpOptions {
                l1: f32::NAN,
                ..CdrpOptions::default()
            },
            CdrpOptions {
                max_gate: -1.0,
                ..CdrpOptions::default()
            },
        ] {
            let e = Cdrp::new(&net, options).unwrap_err();
            assert!(matches!(e, ExtractError::CdrpOption { .. }), "{e}");
        }
        let mut b = NetworkBuilder::new(vec![4]);
        let d = b
            .dense(b.input(), Array2::from_elem((2, 4), 1.0), None)
            .unwrap();
        let one_layer = b.finish(d).unwrap();
        assert!(matches!(
            Cdrp::new(&one_layer, CdrpOptions::default()),
            Err(ExtractError::NoGates)
        ));
        let cdrp = Cdrp::new(&net, CdrpOptions::default()).unwrap();
        let wrong = ArrayD::zeros(IxDyn(&[1, 3, 3]));
        assert!(cdrp.gates(&wrong).is_err());
        assert!(cdrp.gates_batch(&ArrayD::zeros(IxDyn(&[2, 2, 2]))).is_err());
    }
}
