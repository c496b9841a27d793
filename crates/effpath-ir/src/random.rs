//! Seeded random weights, for benchmarks and tests on real topologies.

use ndarray::{Array1, ArrayBase, DataMut, Dimension};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::graph::Network;
use crate::op::Op;

pub(crate) fn fill_normal<S: DataMut<Elem = f32>, D: Dimension>(
    a: &mut ArrayBase<S, D>,
    std: f32,
    rng: &mut ChaCha8Rng,
) {
    let dist = Normal::new(0.0, std.max(f32::MIN_POSITIVE)).expect("std is positive and finite");
    a.iter_mut().for_each(|v| *v = dist.sample(rng));
}

fn small_bias(b: &mut Option<Array1<f32>>, rng: &mut ChaCha8Rng) {
    if let Some(b) = b {
        fill_normal(b, 0.01, rng);
    }
}

impl Network {
    /// A copy of this network with every weight replaced by seeded random values: He-normal
    /// weights (`std = sqrt(2 / fan_in)`), small normal biases (`std = 0.01`), identity-like
    /// batch norm (gamma 1, beta 0, mean 0, variance 1). Same seed → same network.
    ///
    /// ```
    /// let net = effpath_ir::zoo::lenet5(0);
    /// let a = net.with_random_weights(3);
    /// assert_eq!(a, net.with_random_weights(3));
    /// assert_ne!(a.fingerprint(), net.fingerprint());
    /// ```
    pub fn with_random_weights(&self, seed: u64) -> Network {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut net = self.clone();
        for node in net.nodes_mut() {
            match &mut node.op {
                Op::Dense(d) => {
                    let fan_in = d.weight.ncols().max(1) as f32;
                    fill_normal(&mut d.weight, (2.0 / fan_in).sqrt(), &mut rng);
                    small_bias(&mut d.bias, &mut rng);
                }
                Op::Conv2d(c) => {
                    let (_, cin_g, kh, kw) = c.weight.dim();
                    let fan_in = (cin_g * kh * kw).max(1) as f32;
                    fill_normal(&mut c.weight, (2.0 / fan_in).sqrt(), &mut rng);
                    small_bias(&mut c.bias, &mut rng);
                }
                Op::BatchNorm(b) => {
                    b.gamma.fill(1.0);
                    b.beta.fill(0.0);
                    b.mean.fill(0.0);
                    b.var.fill(1.0);
                }
                Op::MaxPool2d(_)
                | Op::AvgPool2d(_)
                | Op::GlobalAvgPool
                | Op::Relu
                | Op::Lrn(_)
                | Op::Flatten
                | Op::Reshape(_)
                | Op::Transpose(_)
                | Op::Add
                | Op::Concat(_)
                | Op::Softmax
                | Op::LogSoftmax
                | Op::Activation(_)
                | Op::Binary(_)
                | Op::Slice(_)
                | Op::Pad(_) => {}
            }
        }
        net
    }
}

/// Glorot-uniform initialisation of a tensor with the given fans (the TF default the
/// original LeNet used).
pub(crate) fn glorot_uniform<S: DataMut<Elem = f32>, D: Dimension>(
    a: &mut ArrayBase<S, D>,
    fan_in: usize,
    fan_out: usize,
    rng: &mut impl Rng,
) {
    let limit = (6.0 / (fan_in + fan_out).max(1) as f32).sqrt();
    let dist = Uniform::new_inclusive(-limit, limit).expect("finite limits");
    a.iter_mut().for_each(|v| *v = dist.sample(rng));
}
