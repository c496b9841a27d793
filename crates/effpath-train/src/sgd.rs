//! SGD with momentum and L2 weight decay over a network's parameters.

use effpath_ir::{Gradients, Network};
use ndarray::{ArrayD, Zip};

/// Momentum SGD: `v ← μ·v + (g + wd·w)`, `w ← w − lr·v` (PyTorch's formulation).
#[derive(Debug, Clone)]
pub struct Sgd {
    momentum: f32,
    weight_decay: f32,
    /// Velocity per (node, tensor), created on the first step.
    velocity: Vec<Vec<ArrayD<f32>>>,
}

impl Sgd {
    /// A new optimizer.
    pub fn new(momentum: f32, weight_decay: f32) -> Self {
        Sgd {
            momentum,
            weight_decay,
            velocity: Vec::new(),
        }
    }

    /// Applies one update with learning rate `lr` and the parameter gradients of `grads`.
    pub fn step(&mut self, net: &mut Network, grads: &Gradients, lr: f32) {
        let n = net.nodes().len();
        if self.velocity.len() != n {
            self.velocity = (0..n)
                .map(|i| {
                    grads.param(i).map_or(Vec::new(), |g| {
                        g.tensors()
                            .iter()
                            .map(|t| ArrayD::zeros(t.raw_dim()))
                            .collect()
                    })
                })
                .collect();
        }
        for i in 0..n {
            let Some(g) = grads.param(i) else { continue };
            let (mu, wd) = (self.momentum, self.weight_decay);
            for ((mut w, g), v) in net
                .parameters_mut(i)
                .into_iter()
                .zip(g.tensors())
                .zip(self.velocity[i].iter_mut())
            {
                Zip::from(&mut w).and(&g).and(v).for_each(|w, &g, v| {
                    *v = mu * *v + g + wd * *w;
                    *w -= lr * *v;
                });
            }
        }
    }
}
