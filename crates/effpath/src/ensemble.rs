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
                detector: other.path_features().network().fingerprint(),
                model: fp,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::DetectorFile;
    use effpath_detect::{Detector, DetectorKind, DetectorModel};
    use effpath_extract::{ClassPaths, FeatureOptions, FeatureRow, PathFeatures, ProfileOptions};

    #[test]
    fn the_ensemble_flags_when_any_member_does_and_scores_the_largest_margin() {
        // The shipped LeNet and real digits, so that every class has a class path.
        let net = crate::models::lenet5_mnist().unwrap();
        let norm = effpath_data::Normalization::MNIST;
        let train = effpath_data::Mnist::embedded_train().unwrap();
        let profile_x = train.to_tensor(0..300, norm).unwrap().into_dyn();
        let labels = &train.labels()[..300];
        let cp = ClassPaths::profile(
            &net,
            &profile_x,
            labels,
            &ProfileOptions::default(),
            |_, _| {},
        )
        .unwrap();
        let x = effpath_data::Mnist::embedded_test()
            .unwrap()
            .to_tensor(0..40, norm)
            .unwrap()
            .into_dyn();
        let fopts = FeatureOptions {
            empty_layer: effpath_extract::EmptyLayer::One,
            ..FeatureOptions::default()
        };
        let f = PathFeatures::new(&net, &cp, fopts).unwrap();
        // The detector's quality does not matter here: any fitted linear model will do.
        let (normal, _) = FeatureRow::complete_matrix(&f.compute_batch(&x).unwrap(), f.len());
        let y: Vec<bool> = (0..normal.nrows()).map(|i| i % 2 == 0).collect();
        let model = DetectorModel::fit(&DetectorKind::Linear.config(0), &normal, &y).unwrap();
        let file =
            DetectorFile::new(net.fingerprint(), fopts, f.names(), model, &normal, 0.25).unwrap();
        let strict = DetectorFile {
            threshold: file.threshold - 0.05,
            ..file.clone()
        };
        let (a, b) = (
            Guard::new(&net, &cp, file).unwrap(),
            Guard::new(&net, &cp, strict).unwrap(),
        );
        let both = x;
        let (va, vb) = (a.check(&both).unwrap(), b.check(&both).unwrap());
        assert!(
            va.iter().zip(&vb).any(|(p, q)| p.flagged != q.flagged),
            "the members should disagree somewhere"
        );
        let one = GuardEnsemble::new(vec![&a]).unwrap().check(&both).unwrap();
        let two = GuardEnsemble::new(vec![&a, &b])
            .unwrap()
            .check(&both)
            .unwrap();
        for i in 0..va.len() {
            assert_eq!(one[i].flagged, va[i].flagged);
            assert_eq!(one[i].score, va[i].score.map(|s| s - a.threshold()));
            assert_eq!(two[i].flagged, va[i].flagged || vb[i].flagged);
            let margin = va[i]
                .score
                .zip(vb[i].score)
                .map(|(s, t)| (s - a.threshold()).max(t - b.threshold()));
            assert_eq!(two[i].score, margin);
            assert_eq!(two[i].flagged, two[i].score.is_none_or(|s| s >= 0.0));
        }
        assert!(matches!(
            GuardEnsemble::new(Vec::new()),
            Err(Error::EmptyEnsemble)
        ));
    }
}
