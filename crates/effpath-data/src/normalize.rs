//! Per-pixel input normalisation: `x ↦ (x − mean) / std`.

use std::fmt;
use std::str::FromStr;

use ndarray::{ArrayRef, Dimension};

use crate::error::{DataError, NormalizationField, NormalizationIssue, Result};

/// How pixel values in `[0, 1]` are normalised before entering a network.
///
/// Parses from (case-insensitive) `"none"`, `"mnist"`, `"fashion-mnist"` (or
/// `"fashion_mnist"`) and `"MEAN,STD"`; [`Display`](fmt::Display) writes
/// `"none"` or `"MEAN,STD"`, which parses back to the same value. Serialised
/// with serde as that same string.
///
/// ```
/// use effpath_data::Normalization;
/// let n: Normalization = "mnist".parse()?;
/// assert_eq!(n, Normalization::MNIST);
/// assert_eq!(n.to_string(), "0.1307,0.3081");
/// assert!("0.5,0".parse::<Normalization>().is_err());
/// # Ok::<(), effpath_data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Normalization {
    /// Leave values unchanged.
    #[default]
    None,
    /// Subtract `mean`, then divide by `std` (finite and > 0 when built by
    /// [`Normalization::mean_std`] or parsing).
    MeanStd {
        /// Value subtracted.
        mean: f32,
        /// Value divided by.
        std: f32,
    },
}

impl Normalization {
    /// The usual MNIST statistics: mean 0.1307, std 0.3081.
    pub const MNIST: Normalization = Normalization::MeanStd {
        mean: 0.1307,
        std: 0.3081,
    };

    /// The usual Fashion-MNIST statistics: mean 0.2860, std 0.3530.
    pub const FASHION_MNIST: Normalization = Normalization::MeanStd {
        mean: 0.2860,
        std: 0.3530,
    };

    /// A validated `MeanStd`: `mean` must be finite, `std` finite and > 0.
    pub fn mean_std(mean: f32, std: f32) -> Result<Self> {
        let invalid = |issue| DataError::InvalidNormalization {
            input: format!("{mean},{std}"),
            issue,
        };
        if !mean.is_finite() {
            return Err(invalid(NormalizationIssue::MeanNotFinite { mean }));
        }
        if !std.is_finite() || std <= 0.0 {
            return Err(invalid(NormalizationIssue::StdNotPositive { std }));
        }
        Ok(Normalization::MeanStd { mean, std })
    }

    /// Normalises one value.
    #[inline]
    pub fn apply_value(&self, x: f32) -> f32 {
        match *self {
            Normalization::None => x,
            Normalization::MeanStd { mean, std } => (x - mean) / std,
        }
    }

    /// Inverts [`apply_value`](Self::apply_value) for one value.
    #[inline]
    pub fn unapply_value(&self, y: f32) -> f32 {
        match *self {
            Normalization::None => y,
            Normalization::MeanStd { mean, std } => y * std + mean,
        }
    }

    /// Normalises every element of `array` in place (any rank; pass
    /// `&mut array` for an owned `Array`).
    pub fn apply<D: Dimension>(&self, array: &mut ArrayRef<f32, D>) {
        if *self != Normalization::None {
            array.mapv_inplace(|x| self.apply_value(x));
        }
    }

    /// Undoes [`apply`](Self::apply) in place, mapping normalised values back
    /// to `[0, 1]` pixel scale.
    pub fn unapply<D: Dimension>(&self, array: &mut ArrayRef<f32, D>) {
        if *self != Normalization::None {
            array.mapv_inplace(|y| self.unapply_value(y));
        }
    }
}

impl fmt::Display for Normalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Normalization::None => f.write_str("none"),
            Normalization::MeanStd { mean, std } => write!(f, "{mean},{std}"),
        }
    }
}

impl FromStr for Normalization {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self> {
        let text = s.trim();
        let invalid = |issue| DataError::InvalidNormalization {
            input: s.to_owned(),
            issue,
        };
        match text.to_ascii_lowercase().as_str() {
            "none" => return Ok(Normalization::None),
            "mnist" => return Ok(Normalization::MNIST),
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" => {
                return Ok(Normalization::FASHION_MNIST);
            }
            _ => {}
        }
        let Some((mean, std)) = text.split_once(',') else {
            return Err(invalid(NormalizationIssue::Syntax));
        };
        let parse = |field, v: &str| {
            let text = v.trim();
            text.parse::<f32>().map_err(|error| {
                invalid(NormalizationIssue::NotANumber {
                    field,
                    text: text.to_owned(),
                    error,
                })
            })
        };
        let (mean, std) = (
            parse(NormalizationField::Mean, mean)?,
            parse(NormalizationField::Std, std)?,
        );
        Normalization::mean_std(mean, std).map_err(|e| match e {
            DataError::InvalidNormalization { issue, .. } => invalid(issue),
            other => other,
        })
    }
}

impl TryFrom<String> for Normalization {
    type Error = DataError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Normalization> for String {
    fn from(n: Normalization) -> String {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, ArrayD, IxDyn};

    #[test]
    fn presets_parse() {
        for (s, want) in [
            ("none", Normalization::None),
            ("NONE", Normalization::None),
            ("mnist", Normalization::MNIST),
            (" MNIST ", Normalization::MNIST),
            ("fashion-mnist", Normalization::FASHION_MNIST),
            ("Fashion_MNIST", Normalization::FASHION_MNIST),
        ] {
            assert_eq!(s.parse::<Normalization>().ok(), Some(want), "{s:?}");
        }
        assert_eq!(
            Normalization::MNIST,
            Normalization::MeanStd {
                mean: 0.1307,
                std: 0.3081
            }
        );
        assert_eq!(
            Normalization::FASHION_MNIST,
            Normalization::MeanStd {
                mean: 0.2860,
                std: 0.3530
            }
        );
    }

    #[test]
    fn mean_std_parses() {
        let n: Normalization = "0.5, 0.25".parse().expect("valid");
        assert_eq!(
            n,
            Normalization::MeanStd {
                mean: 0.5,
                std: 0.25
            }
        );
        let n: Normalization = "-1e-3,2".parse().expect("valid");
        assert_eq!(
            n,
            Normalization::MeanStd {
                mean: -1e-3,
                std: 2.0
            }
        );
    }

    #[test]
    fn invalid_specs_are_errors() {
        for s in [
            "",
            "mnist2",
            "0.5",
            "0.5,",
            ",0.5",
            "a,b",
            "0.5,0",
            "0.5,-1",
            "0.5,nan",
            "0.5,inf",
            "nan,1",
            "inf,1",
            "0.1,0.2,0.3",
        ] {
            match s.parse::<Normalization>() {
                Err(DataError::InvalidNormalization { input, .. }) => assert_eq!(input, s),
                other => panic!("{s:?} gave {other:?}"),
            }
        }
        assert!(Normalization::mean_std(0.0, 0.0).is_err());
        let issue = |s: &str| match s.parse::<Normalization>() {
            Err(DataError::InvalidNormalization { issue, .. }) => issue,
            other => panic!("{s:?} gave {other:?}"),
        };
        assert_eq!(issue("mnist2"), NormalizationIssue::Syntax);
        assert_eq!(
            issue("0.5,-1"),
            NormalizationIssue::StdNotPositive { std: -1.0 }
        );
        assert_eq!(
            issue("inf,1"),
            NormalizationIssue::MeanNotFinite {
                mean: f32::INFINITY
            }
        );
        let not_a_number = issue("0.5, x ");
        assert!(
            matches!(
                &not_a_number,
                NormalizationIssue::NotANumber {
                    field: NormalizationField::Std,
                    text,
                    ..
                } if text == "x"
            ),
            "{not_a_number:?}"
        );
        let e = "a,1".parse::<Normalization>().unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid normalisation \"a,1\": mean \"a\": invalid float literal"
        );
        assert!(matches!(
            Normalization::mean_std(0.0, 0.0),
            Err(DataError::InvalidNormalization {
                issue: NormalizationIssue::StdNotPositive { std: 0.0 },
                ..
            })
        ));
        assert!(Normalization::mean_std(f32::NAN, 1.0).is_err());
        assert!(Normalization::mean_std(0.0, 1.0).is_ok());
    }

    #[test]
    fn display_round_trips() {
        for n in [
            Normalization::None,
            Normalization::MNIST,
            Normalization::FASHION_MNIST,
            Normalization::MeanStd {
                mean: -0.123_456_79,
                std: 1e-7,
            },
        ] {
            let s = n.to_string();
            assert_eq!(s.parse::<Normalization>().ok(), Some(n), "{s}");
        }
        assert_eq!(Normalization::None.to_string(), "none");
        assert_eq!(Normalization::FASHION_MNIST.to_string(), "0.286,0.353");
    }

    #[test]
    fn apply_then_unapply_round_trips() {
        let orig = Array::linspace(0.0f32, 1.0, 60)
            .into_shape_with_order(IxDyn(&[3, 4, 5]))
            .expect("shape");
        for n in [
            Normalization::None,
            Normalization::MNIST,
            Normalization::FASHION_MNIST,
        ] {
            let mut a: ArrayD<f32> = orig.clone();
            n.apply(&mut a);
            if let Normalization::MeanStd { mean, std } = n {
                assert!((a[[0, 0, 0]] - (0.0 - mean) / std).abs() < 1e-6);
                assert!((a[[2, 3, 4]] - (1.0 - mean) / std).abs() < 1e-6);
            } else {
                assert_eq!(a, orig);
            }
            n.unapply(&mut a);
            for (x, y) in a.iter().zip(orig.iter()) {
                assert!((x - y).abs() < 1e-6, "{n}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        // serde_json is not a dependency; exercise the conversions serde uses.
        let s: String = Normalization::MNIST.into();
        assert_eq!(Normalization::try_from(s).ok(), Some(Normalization::MNIST));
        assert!(Normalization::try_from("1,0".to_owned()).is_err());
    }
}
