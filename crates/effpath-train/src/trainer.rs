//! The training loop and evaluation.

use effpath_data::{LabeledImages, Normalization};
use effpath_ir::{Network, softmax_cross_entropy};
use ndarray::{Array2, IxDyn};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::TrainConfig;
use crate::error::{DataSplit, Result, TrainError};
use crate::sgd::Sgd;

/// Statistics of one epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochStats {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Mean training loss over the epoch's minibatches.
    pub train_loss: f64,
    /// Training accuracy over the epoch (measured on the minibatches as they were trained).
    pub train_accuracy: f64,
    /// Accuracy on the test set after the epoch, if one was given.
    pub test_accuracy: Option<f64>,
    /// Learning rate at the end of the epoch.
    pub lr: f32,
}

/// The result of [`train`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainReport {
    /// One entry per epoch.
    pub epochs: Vec<EpochStats>,
}

/// Progress reported while training.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// After each minibatch.
    Step {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch (1-based).
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// Running mean loss of the epoch so far.
        loss: f64,
        /// Running accuracy of the epoch so far.
        accuracy: f64,
    },
    /// After each epoch (and its test evaluation).
    Epoch(EpochStats),
}

fn check_data(net: &Network, data: &LabeledImages, set: DataSplit) -> Result<()> {
    net.check_labelled(&[data.len(), 1, data.rows(), data.cols()], data.labels(), 0)
        .map_err(|issue| TrainError::Unfit { set, issue })?;
    if data.is_empty() {
        return Err(TrainError::EmptySet { set });
    }
    Ok(())
}

/// The minibatch `idx` as a normalised `(B, 1, H, W)` tensor, randomly shifted when
/// `cfg.max_shift > 0`.
fn batch(
    data: &LabeledImages,
    idx: &[usize],
    cfg: &TrainConfig,
    rng: &mut ChaCha8Rng,
) -> Result<ndarray::ArrayD<f32>> {
    if cfg.max_shift == 0 {
        return Ok(data.select_tensor(idx, cfg.normalization)?.into_dyn());
    }
    let raw = data.select_tensor(idx, Normalization::None)?;
    let (b, c, h, w) = raw.dim();
    let mut out = ndarray::Array4::<f32>::zeros((b, c, h, w));
    let m = cfg.max_shift as i64;
    for n in 0..b {
        let (dy, dx) = (rng.random_range(-m..=m), rng.random_range(-m..=m));
        for ch in 0..c {
            for y in 0..h as i64 {
                for x in 0..w as i64 {
                    let (sy, sx) = (y - dy, x - dx);
                    if sy >= 0 && sx >= 0 && sy < h as i64 && sx < w as i64 {
                        out[[n, ch, y as usize, x as usize]] =
                            raw[[n, ch, sy as usize, sx as usize]];
                    }
                }
            }
        }
    }
    cfg.normalization.apply(&mut out);
    Ok(out.into_dyn())
}

/// Trains `net` in place on `data` (pixels in `[0, 1]`, normalised with
/// `cfg.normalization`), evaluating on `test` after every epoch. Deterministic for a given
/// seed and thread count.
///
/// Each step runs the network in training mode ([`Network::forward_train`]: batch norms
/// normalise with the batch statistics, and the gradient flows through them), takes an SGD
/// step, then updates the batch-norm running statistics with momentum `cfg.bn_momentum`.
/// For a network without batch norm this is exactly inference-mode training. Evaluation
/// (the test accuracy after each epoch, [`evaluate`]) uses inference mode, i.e. the running
/// statistics.
pub fn train(
    net: &mut Network,
    data: &LabeledImages,
    test: Option<&LabeledImages>,
    cfg: &TrainConfig,
    progress: impl FnMut(&Event),
) -> Result<TrainReport> {
    train_observed(net, data, test, cfg, progress, |_, _| {})
}

/// [`train`], handing the network to `checkpoint` after every epoch (with that epoch's
/// statistics), e.g. to profile it while it learns. The training is the same as [`train`]'s.
pub fn train_observed(
    net: &mut Network,
    data: &LabeledImages,
    test: Option<&LabeledImages>,
    cfg: &TrainConfig,
    mut progress: impl FnMut(&Event),
    mut checkpoint: impl FnMut(&EpochStats, &Network),
) -> Result<TrainReport> {
    cfg.validate()?;
    check_data(net, data, DataSplit::Training)?;
    if let Some(t) = test {
        check_data(net, t, DataSplit::Test)?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..data.len()).collect();
    let steps = data.len().div_ceil(cfg.batch_size);
    let mut sgd = Sgd::new(cfg.momentum, cfg.weight_decay);
    let logits_v = net.logits();
    let mut report = TrainReport { epochs: Vec::new() };
    for epoch in 0..cfg.epochs {
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct, mut seen) = (0f64, 0usize, 0usize);
        let mut lr = cfg.lr;
        for (step, idx) in order.chunks(cfg.batch_size).enumerate() {
            let x = batch(data, idx, cfg, &mut rng)?;
            let labels: Vec<usize> = idx.iter().map(|&i| data.labels()[i]).collect();
            let acts = net.forward_train(&x)?;
            let logits = acts.logits();
            let (loss, g) = softmax_cross_entropy(&logits, &labels)?;
            if !loss.is_finite() {
                return Err(TrainError::Diverged {
                    epoch: epoch + 1,
                    step: step + 1,
                    loss,
                });
            }
            let mut gshape = vec![idx.len()];
            gshape.extend_from_slice(net.shape(logits_v));
            let g = g.into_shape_with_order(IxDyn(&gshape)).map_err(|source| {
                TrainError::GradientShape {
                    shape: gshape.clone(),
                    source,
                }
            })?;
            let grads = net.backward(&acts, &g, logits_v)?;
            lr = cfg.lr_at(epoch, step, steps);
            sgd.step(net, &grads, lr);
            net.update_batch_norm_stats(&acts, cfg.bn_momentum)?;
            loss_sum += loss as f64 * idx.len() as f64;
            correct += logits
                .rows()
                .into_iter()
                .zip(&labels)
                .filter(|(r, l)| effpath_ir::argmax(r.iter().copied()) == **l)
                .count();
            seen += idx.len();
            progress(&Event::Step {
                epoch: epoch + 1,
                step: step + 1,
                steps,
                loss: loss_sum / seen as f64,
                accuracy: correct as f64 / seen as f64,
            });
        }
        let test_accuracy = match test {
            Some(t) => Some(evaluate(net, t, cfg.normalization, 256)?),
            None => None,
        };
        let stats = EpochStats {
            epoch: epoch + 1,
            train_loss: loss_sum / seen as f64,
            train_accuracy: correct as f64 / seen as f64,
            test_accuracy,
            lr,
        };
        progress(&Event::Epoch(stats.clone()));
        checkpoint(&stats, net);
        report.epochs.push(stats);
    }
    Ok(report)
}

/// Accuracy of `net` on `data` (pixels normalised with `normalization`), in batches.
pub fn evaluate(
    net: &Network,
    data: &LabeledImages,
    normalization: Normalization,
    batch: usize,
) -> Result<f64> {
    check_data(net, data, DataSplit::Evaluation)?;
    let mut correct = 0;
    let n = data.len();
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(n);
        let x = data.to_tensor(start..end, normalization)?.into_dyn();
        let logits: Array2<f32> = net.predict(&x)?;
        correct += logits
            .rows()
            .into_iter()
            .enumerate()
            .filter(|(k, r)| effpath_ir::argmax(r.iter().copied()) == data.labels()[start + k])
            .count();
    }
    Ok(correct as f64 / n as f64)
}
