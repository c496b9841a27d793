//! The detection targets the report checks itself against: the linear detector's mean AUC
//! ≥ [`LINEAR_TARGET`] and the best detector's ≥ [`BEST_TARGET`] on each of the paper's
//! gradient and optimisation attacks ([`ATTACKS`]) — met or missed, stated in `index.html` and
//! `results.json`.

use effpath::DetectorKind;
use effpath::detect::AucResult;
use serde::Serialize;

/// The attacks the targets are set on.
pub const ATTACKS: [&str; 5] = ["fgsm", "bim", "deepfool", "jsma", "cw-l2"];
/// Mean AUC the linear detector should reach on each of [`ATTACKS`].
pub const LINEAR_TARGET: f64 = 0.93;
/// Mean AUC the best detector should reach on each of [`ATTACKS`].
pub const BEST_TARGET: f64 = 0.96;

/// One attack's check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetCheck {
    /// Attack name.
    pub attack: String,
    /// Mean AUC of the linear detector (`None` if it was not run).
    pub linear: Option<f64>,
    /// The detector with the highest mean AUC, and that AUC.
    pub best: (String, f64),
}

impl TargetCheck {
    /// Whether the linear target is met.
    pub fn linear_met(&self) -> bool {
        self.linear.is_some_and(|a| a >= LINEAR_TARGET)
    }

    /// Whether the best-detector target is met.
    pub fn best_met(&self) -> bool {
        self.best.1 >= BEST_TARGET
    }
}

/// The checks for those of [`ATTACKS`] that `auc` has results for, in [`ATTACKS`] order.
pub fn check(auc: &[AucResult]) -> Vec<TargetCheck> {
    let mean = |r: &AucResult, k: usize| r.summary()[k].0;
    ATTACKS
        .iter()
        .filter_map(|&attack| {
            let per_detector: Vec<(&AucResult, usize)> = auc
                .iter()
                .filter_map(|r| r.attacks.iter().position(|a| a == attack).map(|k| (r, k)))
                .collect();
            let (best, k) = per_detector
                .iter()
                .copied()
                .max_by(|(a, i), (b, j)| mean(a, *i).total_cmp(&mean(b, *j)))?;
            let linear = per_detector
                .iter()
                .find(|(r, _)| r.detector == DetectorKind::Linear)
                .map(|&(r, k)| mean(r, k));
            Some(TargetCheck {
                attack: attack.to_string(),
                linear,
                best: (best.detector.name().to_string(), mean(best, k)),
            })
        })
        .collect()
}

/// The report's "Targets" section.
pub fn html(checks: &[TargetCheck]) -> String {
    if checks.is_empty() {
        return String::new();
    }
    let verdict = |met: bool| if met { "met" } else { "<b>missed</b>" };
    let mut h = format!(
        "<h2>Targets</h2><p>Mean AUC of the linear detector ≥ {LINEAR_TARGET} and of the best detector ≥ {BEST_TARGET} on each attack below. A missed target is not hidden: the per-layer similarity and the layer sweep further down show which layers separate.</p><table><tr><th>attack</th><th>linear</th><th>≥ {LINEAR_TARGET}</th><th>best detector</th><th>≥ {BEST_TARGET}</th></tr>"
    );
    for c in checks {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {:.4}</td><td>{}</td></tr>",
            c.attack,
            c.linear.map_or("–".to_string(), |a| format!("{a:.4}")),
            verdict(c.linear_met()),
            c.best.0,
            c.best.1,
            verdict(c.best_met())
        ));
    }
    h.push_str("</table>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(detector: DetectorKind, aucs: &[(&str, f64)]) -> AucResult {
        AucResult {
            detector,
            attacks: aucs.iter().map(|(a, _)| a.to_string()).collect(),
            auc: aucs.iter().map(|&(_, v)| vec![v, v]).collect(),
            roc: Vec::new(),
            target_fprs: Vec::new(),
            operating: Vec::new(),
        }
    }

    #[test]
    fn checks_pick_the_best_detector_and_judge_both_targets() {
        let auc = [
            result(
                DetectorKind::Linear,
                &[("fgsm", 0.95), ("cw-l2", 0.925), ("patch", 0.5)],
            ),
            result(
                DetectorKind::RandomForest,
                &[("fgsm", 0.97), ("cw-l2", 0.94)],
            ),
        ];
        let c = check(&auc);
        assert_eq!(c.len(), 2, "only the target attacks that were run");
        assert_eq!(c[0].attack, "fgsm");
        assert_eq!(c[0].best, ("random-forest".to_string(), 0.97));
        assert!(c[0].linear_met() && c[0].best_met());
        assert_eq!(c[1].linear, Some(0.925));
        assert!(!c[1].linear_met() && !c[1].best_met());
        let h = html(&c);
        assert_eq!(h.matches("<b>missed</b>").count(), 2, "{h}");
    }
}
