//! Every attack by name, with its hyper-parameters: [`AttackKind`] (`ALL`, [`FromStr`],
//! serde names) and [`AttackConfig`] (serde-tagged by kind), in the style of
//! `effpath-detect`'s `DetectorKind`/`DetectorConfig` — the one list the CLI and the demo use.

use std::fmt;
use std::str::FromStr;

use ndarray::Array4;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::attack::Attack;
use crate::classifier::Classifier;
use crate::error::{AttackError, Result};
use crate::params::ParamGuard;
use crate::{
    ActivationMatching, AdversarialPatch, Bim, CarliniWagnerL2, DeepFool, Defence, Fgsm, Jsma,
    RandomNoise, WhiteBox,
};

/// The attacks effpath runs. Targeted kinds draw one random target class per image
/// ([`crate::random_targets`]); JSMA picks its own targets unless the caller gives some.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackKind {
    /// FGSM: the smallest of 1000 step sizes in (0, 1].
    Fgsm,
    /// FGSM towards a random target class per image.
    FgsmTargeted,
    /// Iterative FGSM: 100 step sizes × 10 steps.
    Bim,
    /// Iterative FGSM towards a random target: 10 steps of 0.01.
    BimTargeted,
    /// DeepFool L2.
    Deepfool,
    /// The saliency map attack (towards a random target).
    Jsma,
    /// Carlini–Wagner L2.
    CwL2,
    /// Carlini–Wagner L2 towards a random target class per image.
    CwL2Targeted,
    /// Uniform-noise "unrecognizable" images.
    RandomNoise,
    /// A universal adversarial patch (trained first).
    Patch,
    /// The adaptive attack: L2 PGD matching the last layers' activations to those of an
    /// image of a random target class.
    ActivationMatching,
    /// The white-box attack on classifier and detector together (needs a defence).
    WhiteBox,
}

impl AttackKind {
    /// Every attack, in report order.
    pub const ALL: [AttackKind; 12] = [
        AttackKind::Fgsm,
        AttackKind::FgsmTargeted,
        AttackKind::Bim,
        AttackKind::BimTargeted,
        AttackKind::Deepfool,
        AttackKind::Jsma,
        AttackKind::CwL2,
        AttackKind::CwL2Targeted,
        AttackKind::RandomNoise,
        AttackKind::Patch,
        AttackKind::ActivationMatching,
        AttackKind::WhiteBox,
    ];

    /// The name used on the command line, in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::Fgsm => "fgsm",
            AttackKind::FgsmTargeted => "fgsm-targeted",
            AttackKind::Bim => "bim",
            AttackKind::BimTargeted => "bim-targeted",
            AttackKind::Deepfool => "deepfool",
            AttackKind::Jsma => "jsma",
            AttackKind::CwL2 => "cw-l2",
            AttackKind::CwL2Targeted => "cw-l2-targeted",
            AttackKind::RandomNoise => "random-noise",
            AttackKind::Patch => "patch",
            AttackKind::ActivationMatching => "activation-matching",
            AttackKind::WhiteBox => "white-box",
        }
    }

    /// Whether the attack is run towards a target class per image.
    pub fn targeted(self) -> bool {
        match self {
            AttackKind::FgsmTargeted
            | AttackKind::BimTargeted
            | AttackKind::CwL2Targeted
            | AttackKind::ActivationMatching => true,
            AttackKind::Fgsm
            | AttackKind::Bim
            | AttackKind::Deepfool
            | AttackKind::Jsma
            | AttackKind::CwL2
            | AttackKind::RandomNoise
            | AttackKind::Patch
            | AttackKind::WhiteBox => false,
        }
    }

    /// The attack with the original's (foolbox 1.3.2) default hyper-parameters.
    pub fn config(self) -> AttackConfig {
        match self {
            AttackKind::Fgsm => AttackConfig::Fgsm(Fgsm::default()),
            AttackKind::FgsmTargeted => AttackConfig::FgsmTargeted(Fgsm::default()),
            AttackKind::Bim => AttackConfig::Bim(Bim::default()),
            AttackKind::BimTargeted => AttackConfig::BimTargeted(Bim::targeted()),
            AttackKind::Deepfool => AttackConfig::Deepfool(DeepFool::default()),
            AttackKind::Jsma => AttackConfig::Jsma(Jsma::default()),
            AttackKind::CwL2 => AttackConfig::CwL2(CarliniWagnerL2::default()),
            AttackKind::CwL2Targeted => AttackConfig::CwL2Targeted(CarliniWagnerL2::default()),
            AttackKind::RandomNoise => AttackConfig::RandomNoise(RandomNoise::default()),
            AttackKind::Patch => AttackConfig::Patch(AdversarialPatch::default()),
            AttackKind::ActivationMatching => {
                AttackConfig::ActivationMatching(ActivationMatching::default())
            }
            AttackKind::WhiteBox => AttackConfig::WhiteBox(WhiteBox::default()),
        }
    }
}

impl fmt::Display for AttackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AttackKind {
    type Err = AttackError;

    fn from_str(s: &str) -> Result<Self> {
        AttackKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| AttackError::UnknownAttack {
                name: s.to_owned(),
                known: AttackKind::ALL.map(AttackKind::name).to_vec(),
            })
    }
}

/// An attack and its hyper-parameters; serialised tagged by kind, e.g.
/// `{"attack": "cw-l2", "max_iterations": 300, …}`.
///
/// ```
/// use effpath_attack::{AttackConfig, AttackKind};
/// let cw = AttackKind::CwL2.config().with_param("max_iterations", "300")?;
/// let AttackConfig::CwL2(a) = &cw else { unreachable!() };
/// assert_eq!(a.max_iterations, 300);
/// assert!(AttackKind::Fgsm.config().with_param("steps", "3").is_err()); // not an FGSM parameter
/// assert!(AttackKind::Bim.config().with_param("steps", "0.5").is_err()); // not a count
/// # Ok::<(), effpath_attack::AttackError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "attack", rename_all = "kebab-case")]
pub enum AttackConfig {
    /// [`AttackKind::Fgsm`].
    Fgsm(Fgsm),
    /// [`AttackKind::FgsmTargeted`].
    FgsmTargeted(Fgsm),
    /// [`AttackKind::Bim`].
    Bim(Bim),
    /// [`AttackKind::BimTargeted`].
    BimTargeted(Bim),
    /// [`AttackKind::Deepfool`].
    Deepfool(DeepFool),
    /// [`AttackKind::Jsma`].
    Jsma(Jsma),
    /// [`AttackKind::CwL2`].
    CwL2(CarliniWagnerL2),
    /// [`AttackKind::CwL2Targeted`].
    CwL2Targeted(CarliniWagnerL2),
    /// [`AttackKind::RandomNoise`].
    RandomNoise(RandomNoise),
    /// [`AttackKind::Patch`].
    Patch(AdversarialPatch),
    /// [`AttackKind::ActivationMatching`].
    ActivationMatching(ActivationMatching),
    /// [`AttackKind::WhiteBox`].
    WhiteBox(WhiteBox),
}

impl AttackConfig {
    /// Which attack this is.
    pub fn kind(&self) -> AttackKind {
        match self {
            AttackConfig::Fgsm(_) => AttackKind::Fgsm,
            AttackConfig::FgsmTargeted(_) => AttackKind::FgsmTargeted,
            AttackConfig::Bim(_) => AttackKind::Bim,
            AttackConfig::BimTargeted(_) => AttackKind::BimTargeted,
            AttackConfig::Deepfool(_) => AttackKind::Deepfool,
            AttackConfig::Jsma(_) => AttackKind::Jsma,
            AttackConfig::CwL2(_) => AttackKind::CwL2,
            AttackConfig::CwL2Targeted(_) => AttackKind::CwL2Targeted,
            AttackConfig::RandomNoise(_) => AttackKind::RandomNoise,
            AttackConfig::Patch(_) => AttackKind::Patch,
            AttackConfig::ActivationMatching(_) => AttackKind::ActivationMatching,
            AttackConfig::WhiteBox(_) => AttackKind::WhiteBox,
        }
    }

    /// The hyper-parameters as a JSON object (without the tag).
    fn fields(&self) -> Result<Value> {
        let mut v = serde_json::to_value(self).map_err(|source| AttackError::Config {
            attack: self.kind().name(),
            source,
        })?;
        if let Some(o) = v.as_object_mut() {
            o.remove("attack");
        }
        Ok(v)
    }

    /// The names of the hyper-parameters, sorted.
    pub fn param_names(&self) -> Vec<String> {
        self.fields()
            .ok()
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
            .unwrap_or_default()
    }

    /// This attack with hyper-parameter `key` set from its text `value` (a number, or for a
    /// flag `true`/`false`/`yes`/`no`/`1`/`0`); errors on a name the attack does not have or
    /// a value of the wrong type.
    pub fn with_param(self, key: &str, value: &str) -> Result<Self> {
        let kind = self.kind();
        let mut fields = self.fields()?;
        let unknown = || AttackError::UnknownParameter {
            attack: kind.name(),
            name: key.to_owned(),
            known: self.param_names(),
        };
        let Some(slot) = fields.as_object_mut().and_then(|o| o.get_mut(key)) else {
            return Err(unknown());
        };
        let text = value.trim();
        *slot = match slot {
            Value::Bool(_) => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Value::Bool(true),
                "false" | "no" | "0" => Value::Bool(false),
                _ => Value::String(text.to_owned()),
            },
            _ => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
        };
        let mut tagged = fields;
        if let Some(o) = tagged.as_object_mut() {
            o.insert("attack".into(), Value::String(kind.name().into()));
        }
        serde_json::from_value(tagged).map_err(|source| AttackError::ParameterValue {
            attack: kind.name(),
            name: key.to_owned(),
            value: value.to_owned(),
            source,
        })
    }

    /// Validates the hyper-parameters ([`ParamGuard::check`]) without building the attack:
    /// errors with [`AttackError::Parameter`] on the first one out of its range.
    ///
    /// ```
    /// use effpath_attack::{AttackError, AttackKind};
    /// assert!(AttackKind::Bim.config().check().is_ok());
    /// let bad = AttackKind::Bim.config().with_param("steps", "0")?;
    /// assert!(matches!(bad.check(), Err(AttackError::Parameter { name: "steps", .. })));
    /// # Ok::<(), AttackError>(())
    /// ```
    pub fn check(&self) -> Result<()> {
        match self {
            AttackConfig::Fgsm(a) | AttackConfig::FgsmTargeted(a) => a.check_ref().map(drop),
            AttackConfig::Bim(a) | AttackConfig::BimTargeted(a) => a.check_ref().map(drop),
            AttackConfig::Deepfool(a) => a.check_ref().map(drop),
            AttackConfig::Jsma(a) => a.check_ref().map(drop),
            AttackConfig::CwL2(a) | AttackConfig::CwL2Targeted(a) => a.check_ref().map(drop),
            AttackConfig::RandomNoise(a) => a.check_ref().map(drop),
            AttackConfig::Patch(a) => a.check_ref().map(drop),
            AttackConfig::ActivationMatching(a) => a.check_ref().map(drop),
            AttackConfig::WhiteBox(a) => a.check_ref().map(drop),
        }
    }

    /// The runnable attack, its hyper-parameters checked once ([`ParamGuard::check`]). The
    /// patch is trained first, on `patch_training` (pixels in
    /// `[0, 1]`, required for [`AttackKind::Patch`] and ignored otherwise) with `seed`; the
    /// white-box attack runs against `defence` (required for [`AttackKind::WhiteBox`] and
    /// ignored otherwise).
    pub fn attack<'d>(
        &self,
        clf: &Classifier<'_>,
        patch_training: Option<&Array4<f32>>,
        defence: Option<&'d dyn Defence>,
        seed: u64,
    ) -> Result<Box<dyn Attack + 'd>> {
        Ok(match self {
            AttackConfig::Fgsm(a) | AttackConfig::FgsmTargeted(a) => Box::new(a.clone().check()?),
            AttackConfig::Bim(a) | AttackConfig::BimTargeted(a) => Box::new(a.clone().check()?),
            AttackConfig::Deepfool(a) => Box::new(a.clone().check()?),
            AttackConfig::Jsma(a) => Box::new(a.clone().check()?),
            AttackConfig::CwL2(a) | AttackConfig::CwL2Targeted(a) => Box::new(a.clone().check()?),
            AttackConfig::RandomNoise(a) => Box::new(a.clone().check()?),
            AttackConfig::ActivationMatching(a) => Box::new(a.clone().check()?),
            AttackConfig::WhiteBox(a) => {
                let checked = a.clone().check()?;
                match defence {
                    Some(d) => Box::new(checked.against(d)),
                    None => return Err(AttackError::DefenceMissing),
                }
            }
            AttackConfig::Patch(a) => {
                let checked = a.clone().check()?;
                let Some(x) = patch_training else {
                    return Err(AttackError::PatchTraining);
                };
                Box::new(checked.train(clf, x, seed)?)
            }
        })
    }

    /// Whether [`AttackConfig::attack`] needs a defence.
    pub fn needs_defence(&self) -> bool {
        self.kind() == AttackKind::WhiteBox
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name_config_and_serde() {
        for k in AttackKind::ALL {
            assert_eq!(k.name().parse::<AttackKind>().ok(), Some(k));
            let c = k.config();
            assert_eq!(c.kind(), k);
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert!(
                json.contains(&format!("\"attack\":\"{}\"", k.name())),
                "{json}"
            );
            let back: AttackConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, c);
            assert!(!c.param_names().is_empty(), "{k}");
        }
        assert!(matches!(
            "pgd".parse::<AttackKind>(),
            Err(AttackError::UnknownAttack { .. })
        ));
    }

    #[test]
    fn params_override_by_name_with_checked_types() {
        let c = AttackKind::BimTargeted
            .config()
            .with_param("steps", "7")
            .and_then(|c| c.with_param("max_epsilon", "0.25"));
        match c {
            Ok(AttackConfig::BimTargeted(b)) => {
                assert_eq!((b.steps, b.max_epsilon), (7, 0.25));
                // The targeted defaults stay where not overridden.
                assert_eq!(b.epsilons, Bim::targeted().epsilons);
            }
            other => panic!("{other:?}"),
        }
        match AttackKind::Fgsm.config().with_param("refine", "no") {
            Ok(AttackConfig::Fgsm(f)) => assert!(!f.refine),
            other => panic!("{other:?}"),
        }
        match AttackKind::Fgsm.config().with_param("steps", "1") {
            Err(AttackError::UnknownParameter {
                attack,
                name,
                known,
            }) => {
                assert_eq!((attack, name.as_str()), ("fgsm", "steps"));
                assert_eq!(known, ["epsilons", "max_epsilon", "refine"]);
            }
            other => panic!("{other:?}"),
        }
        for (key, value) in [("steps", "-1"), ("steps", "many"), ("max_epsilon", "x")] {
            assert!(
                matches!(
                    AttackKind::Bim.config().with_param(key, value),
                    Err(AttackError::ParameterValue { .. })
                ),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn configs_are_checked_when_built_and_by_check() {
        for k in AttackKind::ALL {
            assert!(k.config().check().is_ok(), "{k}");
        }
        let net = effpath_ir::zoo::lenet5(0);
        let clf = Classifier::new(&net, effpath_data::Normalization::MNIST)
            .unwrap_or_else(|e| panic!("{e}"));
        let x = Array4::<f32>::from_elem((1, 1, 28, 28), 0.5);
        for (kind, key, value) in [
            (AttackKind::Fgsm, "epsilons", "0"),
            (AttackKind::CwL2Targeted, "confidence", "-1"),
            (AttackKind::Patch, "scale", "2"),
            (AttackKind::WhiteBox, "steps", "0"),
        ] {
            let c = kind
                .config()
                .with_param(key, value)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                matches!(c.check(), Err(AttackError::Parameter { name, .. }) if name == key),
                "{kind} {key}={value}"
            );
            let built = c.attack(&clf, Some(&x), None, 0).map(|a| a.name());
            assert!(
                matches!(built, Err(AttackError::Parameter { name, .. }) if name == key),
                "{kind} {key}={value}: {built:?}"
            );
        }
    }
}
