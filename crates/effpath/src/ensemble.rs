//! A hardening that does not retrain the model: several guards of the same network — e.g.
//! effective paths at several θ, each with its own class paths and detector — flagging an
//! image when any of them does. An attacker must then move every guard's features at once.

use ndarray::ArrayD;

use crate::guard::{Guard, Verdict};
use crate::{Error, Result};

/// Guards of one network combined by "flag if any flags".
///
/// The combined score of an image is the largest margin `score_k − threshold_k` over the
/// members (so it is flagged exactly when the score is ≥ 0), `None` when a member's score is
/// undefined (such an image is flagged, as by a single guard).
#[derive(Debug)]
pub struct GuardEnsemble<'g> {
    members: Vec<&'g Guard<'g>>,
}

impl<'g> GuardEnsemble<'g> {
    /// The ensemble of `members` (at least one, all of the same network).
    pub fn new(members: Vec<&'g Guard<'g>>) -> Result<Self> {
        let Some(first) = members.first() else {
            return Err(Error::EmptyEnsemble);
        };
        let fp = first.path_features().network().fingerprint();
        if let Some(other) = members
            .iter()
            .find(|g| g.path_features().network().fingerprint() != fp)
        {
            return Err(Error::GuardModel {
                detector: other.path_features().network().fingerprint().to_string(),
                model: fp.to_string(),
            });
        }
        Ok(GuardEnsemble { members })
    }

    /// The member guards.
    pub fn members(&self) -> &[&'g Guard<'g>] {
        &self.members
    }

    /// Verdicts for a batch `(N, …)` (normalised as the model expects): the prediction of
    /// the network, the combined score, and whether any member flags the image.
    pub fn check(&self, images: &ArrayD<f32>) -> Result<Vec<Verdict>> {
        let mut out: Option<Vec<Verdict>> = None;
        for g in &self.members {
            let verdicts = g.check(images)?;
            let t = g.threshold();
            out = Some(match out {
                None => verdicts
                    .into_iter()
                    .map(|v| Verdict {
                        score: v.score.map(|s| s - t),
                        ..v
                    })
                    .collect(),
                Some(acc) => acc
                    .into_iter()
                    .zip(verdicts)
                    .map(|(a, v)| Verdict {
                        predicted: a.predicted,
                        score: match (a.score, v.score) {
                            (Some(x), Some(y)) => Some(x.max(y - t)),
                            _ => None,
                        },
                        flagged: a.flagged || v.flagged,
                    })
                    .collect(),
            });
        }
        Ok(out.unwrap_or_default())
    }
}
