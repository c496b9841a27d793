//! The "unrecognizable" random-noise attack of the original (`random_attack.py`).

use ndarray::{Array3, Axis};
use rand::Rng;

use crate::attack::{Attack, AttackRun, Batch, image_rng};
use crate::error::{AttackError, Result};
use crate::params::{Checked, ParamGuard, check_count};
use crate::result::AttackResult;

/// Draws per image per forward pass, and the largest forward batch.
const BLOCK: usize = 16;
const MAX_BATCH: usize = 1024;

/// Uniform-noise images: draws images with every value uniform in `[0, 1)` until the
/// prediction is not the true label (or is the target, when targeted) — the original's
/// "unrecognizable" examples. The result is unrelated to the source image, so its distortions
/// are large; only the source's label (and the requirement that the source be correctly
/// classified) links the two.
///
/// The original drew until success with no bound; here at most `max_draws` images are drawn
/// per source (then the attack fails). Each source has its own random stream of `seed`.
/// `iterations` counts the draws.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomNoise {
    /// Maximum draws per image (1000).
    pub max_draws: usize,
}

impl Default for RandomNoise {
    fn default() -> Self {
        RandomNoise { max_draws: 1000 }
    }
}

impl ParamGuard for RandomNoise {
    fn check_ref(&self) -> Result<&Self> {
        check_count("max_draws", self.max_draws)?;
        Ok(self)
    }
}

impl Attack for Checked<RandomNoise> {
    fn name(&self) -> &'static str {
        "random-noise"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let AttackRun {
            clf,
            seed,
            progress,
            ..
        } = *run;
        let batch = Batch::new(run)?;
        let goals = batch.active_goals();
        let [c, h, w] = clf.input_shape();
        let mut rngs: Vec<_> = batch.active.iter().map(|&i| image_rng(seed, i)).collect();
        let mut found: Vec<Option<Array3<f32>>> = vec![None; goals.len()];
        let mut draws = vec![0usize; goals.len()];
        let mut active: Vec<usize> = (0..goals.len()).collect();
        while !active.is_empty() {
            let block = BLOCK.min((MAX_BATCH / active.len()).max(1));
            let mut noise = Vec::with_capacity(active.len() * block);
            let mut counts = Vec::with_capacity(active.len());
            for &a in &active {
                let m = block.min(self.max_draws - draws[a]);
                counts.push(m);
                for _ in 0..m {
                    noise.push(Array3::from_shape_simple_fn((c, h, w), || {
                        rngs[a].random::<f32>()
                    }));
                }
            }
            let views: Vec<_> = noise.iter().map(|n| n.view()).collect();
            let x = ndarray::stack(Axis(0), &views).map_err(AttackError::shape("noise"))?;
            let preds = clf.predict(&x)?;
            let mut still = Vec::with_capacity(active.len());
            let mut offset = 0;
            for (&a, &m) in active.iter().zip(&counts) {
                let hit = (0..m).find(|&j| goals[a].reached(preds[offset + j]));
                match hit {
                    Some(j) => {
                        draws[a] += j + 1;
                        found[a] = Some(noise[offset + j].clone());
                        progress.advance(1);
                    }
                    None => {
                        draws[a] += m;
                        if draws[a] >= self.max_draws {
                            progress.advance(1);
                        } else {
                            still.push(a);
                        }
                    }
                }
                offset += m;
            }
            active = still;
        }
        batch.finish(clf, found, draws)
    }
}
