//! Hyper-parameters validated once: [`ParamGuard`] (linfa's idea) and [`Checked`].
//!
//! An attack's public-field struct ([`crate::Fgsm`], [`crate::Bim`], …) holds its *unchecked*
//! hyper-parameters (serde, `Default`, struct-update syntax). [`ParamGuard::check`] validates
//! them once into a [`Checked`] value, which is the runnable [`crate::Attack`]: its parameters
//! cannot be changed afterwards, so a run never checks them again. Checks that depend on the
//! model (a class below the model's class count) stay in the run.

use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Result;

/// Hyper-parameters that are validated once, into a [`Checked`] value.
///
/// ```
/// use effpath_attack::{AttackError, Fgsm, ParamGuard, ParamIssue};
/// let fgsm = Fgsm::default().check()?; // the runnable attack
/// assert_eq!(fgsm.epsilons, 1000); // the parameters stay readable
/// let bad = Fgsm { epsilons: 0, ..Fgsm::default() };
/// assert!(matches!(
///     bad.check(),
///     Err(AttackError::Parameter { name: "epsilons", problem: ParamIssue::Zero })
/// ));
/// # Ok::<(), AttackError>(())
/// ```
pub trait ParamGuard: Sized {
    /// Validates the parameters (errors with [`crate::AttackError::Parameter`], naming the
    /// first parameter out of its range and its value).
    fn check_ref(&self) -> Result<&Self>;

    /// Validates the parameters into their [`Checked`] form.
    fn check(self) -> Result<Checked<Self>> {
        self.check_ref()?;
        Ok(Checked(self))
    }
}

/// Parameters `P` that passed [`ParamGuard::check`]; built only by it (or by deserialising,
/// which checks). Derefs to `P` to read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<P>(P);

impl<P> Checked<P> {
    /// The checked parameters.
    pub fn params(&self) -> &P {
        &self.0
    }

    /// The parameters, unchecked again (to change them and check anew).
    pub fn into_params(self) -> P {
        self.0
    }
}

impl<P> Deref for Checked<P> {
    type Target = P;

    fn deref(&self) -> &P {
        &self.0
    }
}

impl<P: Serialize> Serialize for Checked<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, P: ParamGuard + Deserialize<'de>> Deserialize<'de> for Checked<P> {
    /// Deserialises the parameters and checks them.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        P::deserialize(deserializer)?
            .check()
            .map_err(serde::de::Error::custom)
    }
}

/// Checks that `value` is finite and `> 0` (or `≥ 0` with `allow_zero`).
pub(crate) fn check_positive(name: &'static str, value: f32, allow_zero: bool) -> Result<()> {
    let ok = value.is_finite() && (value > 0.0 || (allow_zero && value == 0.0));
    if ok {
        Ok(())
    } else {
        Err(crate::AttackError::param(
            name,
            crate::ParamIssue::NotPositive { value, allow_zero },
        ))
    }
}

/// Checks that a count is at least 1.
pub(crate) fn check_count(name: &'static str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(crate::AttackError::param(name, crate::ParamIssue::Zero));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ActivationMatching, AdversarialPatch, Attack, AttackError, Bim, CarliniWagnerL2,
        Classifier, DeepFool, Fgsm, Jsma, ParamIssue, RandomNoise, WhiteBox,
    };

    fn refused<P: ParamGuard + std::fmt::Debug>(p: P) -> (&'static str, ParamIssue) {
        match p.check() {
            Err(AttackError::Parameter { name, problem }) => (name, problem),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_values_are_refused_at_check_with_the_parameter_and_its_value() {
        let zero = ParamIssue::Zero;
        let neg = |value| ParamIssue::NotPositive {
            value,
            allow_zero: false,
        };
        let cases = [
            (
                refused(Fgsm {
                    epsilons: 0,
                    ..Fgsm::default()
                }),
                ("epsilons", zero.clone()),
            ),
            (
                refused(Fgsm {
                    max_epsilon: -1.0,
                    ..Fgsm::default()
                }),
                ("max_epsilon", neg(-1.0)),
            ),
            (
                refused(Bim {
                    steps: 0,
                    ..Bim::default()
                }),
                ("steps", zero.clone()),
            ),
            (
                refused(DeepFool {
                    overshoot: -0.5,
                    ..DeepFool::default()
                }),
                (
                    "overshoot",
                    ParamIssue::NotPositive {
                        value: -0.5,
                        allow_zero: true,
                    },
                ),
            ),
            (
                refused(CarliniWagnerL2 {
                    learning_rate: 0.0,
                    ..CarliniWagnerL2::default()
                }),
                ("learning_rate", neg(0.0)),
            ),
            (
                refused(Jsma {
                    max_iter: 0,
                    ..Jsma::default()
                }),
                ("max_iter", zero.clone()),
            ),
            (
                refused(RandomNoise { max_draws: 0 }),
                ("max_draws", zero.clone()),
            ),
            (
                refused(AdversarialPatch {
                    scale: 1.5,
                    ..AdversarialPatch::default()
                }),
                ("scale", ParamIssue::NotFraction { value: 1.5 }),
            ),
            (
                refused(ActivationMatching {
                    steps: 0,
                    ..ActivationMatching::default()
                }),
                ("steps", zero.clone()),
            ),
            (
                refused(WhiteBox {
                    max_epsilon: f32::INFINITY,
                    ..WhiteBox::default()
                }),
                ("max_epsilon", neg(f32::INFINITY)),
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        let err = Bim {
            steps: 0,
            ..Bim::default()
        }
        .check()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert_eq!(err, "invalid parameter `steps`: must be at least 1");
    }

    #[test]
    fn deserialising_a_checked_attack_checks_it() {
        let good: std::result::Result<Checked<Fgsm>, _> =
            serde_json::from_str(r#"{"epsilons": 10, "max_epsilon": 0.5, "refine": false}"#);
        let good = good.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (good.epsilons, good.max_epsilon, good.refine),
            (10, 0.5, false)
        );
        let json = serde_json::to_string(&good).unwrap_or_default();
        assert_eq!(json, r#"{"epsilons":10,"max_epsilon":0.5,"refine":false}"#);
        let bad: std::result::Result<Checked<Fgsm>, _> =
            serde_json::from_str(r#"{"epsilons": 0, "max_epsilon": 0.5, "refine": false}"#);
        let msg = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("invalid parameter `epsilons`: must be at least 1"),
            "{msg}"
        );
        // The unchecked parameters still deserialise (and are refused at `check`).
        let raw: std::result::Result<Fgsm, _> =
            serde_json::from_str(r#"{"epsilons": 0, "max_epsilon": 0.5, "refine": false}"#);
        assert!(raw.is_ok_and(|f| f.check().is_err()));
    }

    #[test]
    fn a_checked_attack_runs_as_its_parameters_did() {
        let net = effpath_ir::zoo::lenet5(0);
        let clf = Classifier::new(&net, effpath_data::Normalization::MNIST)
            .unwrap_or_else(|e| panic!("{e}"));
        let x = ndarray::Array4::<f32>::from_elem((2, 1, 28, 28), 0.5);
        let labels = clf.predict(&x).unwrap_or_else(|e| panic!("{e}"));
        let params = Fgsm {
            epsilons: 50,
            ..Fgsm::default()
        };
        let checked = params.clone().check().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(checked.params(), &params);
        let a = checked.run(&clf, &x, &labels, None, 0);
        let b = checked.run(&clf, &x, &labels, None, 0);
        assert!(a.is_ok());
        assert_eq!(a.ok(), b.ok());
        assert_eq!(checked.into_params(), params);
    }
}
