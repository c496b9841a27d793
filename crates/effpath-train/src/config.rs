//! Training configuration.

use effpath_data::Normalization;

use crate::error::{ConfigIssue, Result, TrainError};

/// Learning-rate schedule over epochs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between decays.
        every: usize,
        /// Factor applied at each decay.
        gamma: f32,
    },
    /// Cosine decay from the base rate to 0 over all epochs (per step).
    Cosine,
}

/// Hyper-parameters of [`crate::train`]. The defaults are those of the paper's LeNet training
/// (spec §5): batch 64, SGD lr 0.01, momentum 0.9, weight decay 1e-4 on all parameters, 10
/// epochs, MNIST normalisation; batch-norm momentum 0.1 (PyTorch's).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Base learning rate.
    pub lr: f32,
    /// Momentum (0 = plain SGD).
    pub momentum: f32,
    /// L2 weight decay added to every parameter's gradient (`wd · w`).
    pub weight_decay: f32,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Normalisation applied to `[0, 1]` pixels before the network.
    pub normalization: Normalization,
    /// Data augmentation: shift each training image by a random offset of up to this many
    /// pixels in each direction (0 = none), filling with background (0 before normalisation).
    pub max_shift: usize,
    /// Momentum of the batch-norm running statistics, updated from every training batch
    /// (PyTorch convention: `running ← (1 − m)·running + m·batch`, default 0.1). Unused by
    /// networks without batch norm. Absent from older serialised configurations: 0.1.
    #[serde(default = "default_bn_momentum")]
    pub bn_momentum: f32,
}

fn default_bn_momentum() -> f32 {
    0.1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 64,
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 1e-4,
            schedule: Schedule::Constant,
            seed: 0,
            normalization: Normalization::MNIST,
            max_shift: 0,
            bn_momentum: default_bn_momentum(),
        }
    }
}

impl TrainConfig {
    /// Checks every value.
    pub fn validate(&self) -> Result<()> {
        let bad = |issue: ConfigIssue| Err(TrainError::Config(issue));
        if self.epochs == 0 || self.batch_size == 0 {
            return bad(ConfigIssue::Counts {
                epochs: self.epochs,
                batch_size: self.batch_size,
            });
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(ConfigIssue::LearningRate { lr: self.lr });
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(ConfigIssue::Momentum {
                momentum: self.momentum,
            });
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(ConfigIssue::WeightDecay {
                weight_decay: self.weight_decay,
            });
        }
        if !(0.0..=1.0).contains(&self.bn_momentum) {
            return bad(ConfigIssue::BnMomentum {
                bn_momentum: self.bn_momentum,
            });
        }
        if let Schedule::Step { every, gamma } = self.schedule
            && (every == 0 || !(gamma > 0.0 && gamma <= 1.0))
        {
            return bad(ConfigIssue::StepSchedule { every, gamma });
        }
        Ok(())
    }

    /// Learning rate at `step` (0-based) of `epoch` (0-based) with `steps` steps per epoch.
    pub fn lr_at(&self, epoch: usize, step: usize, steps: usize) -> f32 {
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::Step { every, gamma } => self.lr * gamma.powi((epoch / every.max(1)) as i32),
            Schedule::Cosine => {
                let total = (self.epochs * steps).max(1) as f32;
                let t = (epoch * steps + step) as f32 / total;
                self.lr * 0.5 * (1.0 + (std::f32::consts::PI * t).cos())
            }
        }
    }
}
