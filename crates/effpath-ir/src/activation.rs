//! The element-wise activations other than ReLU, as one closed enum: their value, their
//! derivative, and their properties used by import and tracing.
//!
//! Every function is evaluated in `f64` and rounded once to `f32` (PyTorch evaluates in
//! `f32`; the difference is far below the logit tolerance of the fixture tests).

use ndarray::Array1;

use crate::error::ActivationIssue;

/// An element-wise activation `y = f(x)` (one output per input, same shape).
///
/// PyTorch/ONNX names: `Clip` is ReLU6 (`min = 0, max = 6`) or `Hardtanh`; `LeakyRelu`,
/// `PRelu`, `Elu`, `Selu`, `Sigmoid`, `HardSigmoid`, `HardSwish`, `Tanh`, `Softplus`,
/// `Gelu`, `Erf` are the ONNX operators of the same name; `Silu` is `x·sigmoid(x)` (ONNX has
/// no SiLU operator: the importer fuses the `Sigmoid` + `Mul` pattern).
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// `min(max(x, min), max)`.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound (≥ `min`).
        max: f32,
    },
    /// `x` for `x ≥ 0`, `alpha·x` otherwise.
    LeakyRelu(f32),
    /// Parametric ReLU: `x` for `x ≥ 0`, `slope_c·x` otherwise, with one slope per channel
    /// (axis 0 of the per-sample shape) or a single shared slope (length 1).
    Prelu(Array1<f32>),
    /// `x` for `x > 0`, `alpha·(eˣ − 1)` otherwise.
    Elu(f32),
    /// `gamma·x` for `x > 0`, `gamma·alpha·(eˣ − 1)` otherwise.
    Selu {
        /// `alpha` (ONNX default 1.67326…).
        alpha: f32,
        /// `gamma` (ONNX default 1.0507…).
        gamma: f32,
    },
    /// `1 / (1 + e⁻ˣ)`.
    Sigmoid,
    /// `max(0, min(1, alpha·x + beta))`.
    HardSigmoid {
        /// Slope (ONNX default 0.2; PyTorch's `Hardsigmoid` is 1/6).
        alpha: f32,
        /// Offset (ONNX default 0.5).
        beta: f32,
    },
    /// `x · max(0, min(1, x/6 + 1/2))` (PyTorch `Hardswish`, ONNX `HardSwish`).
    HardSwish,
    /// `tanh(x)`.
    Tanh,
    /// `ln(1 + eˣ)`.
    Softplus,
    /// `x·Φ(x)` with the normal CDF `Φ`; with `tanh`, the tanh approximation
    /// `x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (ONNX `approximate = "tanh"`).
    Gelu {
        /// Use the tanh approximation.
        tanh: bool,
    },
    /// The error function (the building block of the exact GELU as PyTorch exports it).
    Erf,
    /// `x·sigmoid(x)` (PyTorch `SiLU`, "swish").
    Silu,
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_C: f64 = 0.044_715;

impl Activation {
    /// Short name, used in errors and listings (e.g. `Clip`).
    pub fn kind(&self) -> &'static str {
        match self {
            Activation::Clip { .. } => "Clip",
            Activation::LeakyRelu(_) => "LeakyRelu",
            Activation::Prelu(_) => "PRelu",
            Activation::Elu(_) => "Elu",
            Activation::Selu { .. } => "Selu",
            Activation::Sigmoid => "Sigmoid",
            Activation::HardSigmoid { .. } => "HardSigmoid",
            Activation::HardSwish => "HardSwish",
            Activation::Tanh => "Tanh",
            Activation::Softplus => "Softplus",
            Activation::Gelu { .. } => "Gelu",
            Activation::Erf => "Erf",
            Activation::Silu => "Silu",
        }
    }

    /// The parameters in a fixed order (for fingerprints and checks): Clip `[min, max]`,
    /// LeakyRelu/Elu `[alpha]`, PRelu the slopes, Selu `[alpha, gamma]`, HardSigmoid
    /// `[alpha, beta]`, Gelu `[1]` for the tanh approximation and `[0]` otherwise, else `[]`.
    pub fn params(&self) -> Vec<f32> {
        match self {
            Activation::Clip { min, max } => vec![*min, *max],
            Activation::LeakyRelu(a) | Activation::Elu(a) => vec![*a],
            Activation::Prelu(s) => s.to_vec(),
            Activation::Selu { alpha, gamma } => vec![*alpha, *gamma],
            Activation::HardSigmoid { alpha, beta } => vec![*alpha, *beta],
            Activation::Gelu { tanh } => vec![f32::from(u8::from(*tanh))],
            Activation::Sigmoid
            | Activation::HardSwish
            | Activation::Tanh
            | Activation::Softplus
            | Activation::Erf
            | Activation::Silu => Vec::new(),
        }
    }

    /// `f(x)` for an element of channel `c` (the channel matters only for [`Activation::Prelu`]).
    pub fn apply(&self, x: f32, c: usize) -> f32 {
        let v = x as f64;
        let y = match self {
            Activation::Clip { min, max } => return x.max(*min).min(*max),
            Activation::LeakyRelu(a) => return if x >= 0.0 { x } else { a * x },
            Activation::Prelu(s) => return if x >= 0.0 { x } else { slope(s, c) * x },
            Activation::Elu(a) => {
                if v > 0.0 {
                    v
                } else {
                    *a as f64 * v.exp_m1()
                }
            }
            Activation::Selu { alpha, gamma } => {
                let g = *gamma as f64;
                if v > 0.0 {
                    g * v
                } else {
                    g * *alpha as f64 * v.exp_m1()
                }
            }
            Activation::Sigmoid => sigmoid(v),
            Activation::HardSigmoid { alpha, beta } => {
                (*alpha as f64 * v + *beta as f64).clamp(0.0, 1.0)
            }
            Activation::HardSwish => v * (v / 6.0 + 0.5).clamp(0.0, 1.0),
            Activation::Tanh => v.tanh(),
            Activation::Softplus => {
                // ln(1 + eˣ) = max(x, 0) + ln(1 + e^-|x|), stable for large |x|.
                v.max(0.0) + (-v.abs()).exp().ln_1p()
            }
            Activation::Gelu { tanh: false } => {
                0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2))
            }
            Activation::Gelu { tanh: true } => {
                0.5 * v * (1.0 + (SQRT_2_OVER_PI * (v + GELU_C * v * v * v)).tanh())
            }
            Activation::Erf => libm::erf(v),
            Activation::Silu => v * sigmoid(v),
        };
        y as f32
    }

    /// `f'(x)` for an element of channel `c`; at kinks the one-sided derivative PyTorch
    /// uses (Clip and HardSigmoid/HardSwish: the inner branch only strictly inside the
    /// bounds; LeakyRelu/PRelu: slope 1 at 0; Elu/Selu: the left branch at 0).
    pub fn derivative(&self, x: f32, c: usize) -> f32 {
        let v = x as f64;
        let d = match self {
            Activation::Clip { min, max } => {
                if x > *min && x < *max {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu(a) => {
                if x > 0.0 {
                    1.0
                } else {
                    *a as f64
                }
            }
            Activation::Prelu(s) => {
                if x > 0.0 {
                    1.0
                } else {
                    slope(s, c) as f64
                }
            }
            Activation::Elu(a) => {
                if v > 0.0 {
                    1.0
                } else {
                    *a as f64 * v.exp()
                }
            }
            Activation::Selu { alpha, gamma } => {
                let g = *gamma as f64;
                if v > 0.0 {
                    g
                } else {
                    g * *alpha as f64 * v.exp()
                }
            }
            Activation::Sigmoid => {
                let s = sigmoid(v);
                s * (1.0 - s)
            }
            Activation::HardSigmoid { alpha, beta } => {
                let u = *alpha as f64 * v + *beta as f64;
                if u > 0.0 && u < 1.0 {
                    *alpha as f64
                } else {
                    0.0
                }
            }
            Activation::HardSwish => {
                if v <= -3.0 {
                    0.0
                } else if v >= 3.0 {
                    1.0
                } else {
                    v / 3.0 + 0.5
                }
            }
            Activation::Tanh => 1.0 - v.tanh().powi(2),
            Activation::Softplus => sigmoid(v),
            Activation::Gelu { tanh: false } => {
                let cdf = 0.5 * (1.0 + libm::erf(v / std::f64::consts::SQRT_2));
                let pdf = (-0.5 * v * v).exp() / (2.0 * std::f64::consts::PI).sqrt();
                cdf + v * pdf
            }
            Activation::Gelu { tanh: true } => {
                let u = SQRT_2_OVER_PI * (v + GELU_C * v * v * v);
                let t = u.tanh();
                let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * v * v);
                0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du
            }
            Activation::Erf => 2.0 / std::f64::consts::PI.sqrt() * (-v * v).exp(),
            Activation::Silu => {
                let s = sigmoid(v);
                s * (1.0 + v * (1.0 - s))
            }
        };
        d as f32
    }

    /// `true` when `f` is non-decreasing on the whole real line (every activation here
    /// except HardSwish, GELU and SiLU, which dip below 0 for negative inputs, and PRelu or
    /// LeakyRelu with a negative slope).
    pub fn is_monotone(&self) -> bool {
        match self {
            Activation::LeakyRelu(a) => *a >= 0.0,
            Activation::Prelu(s) => s.iter().all(|&v| v >= 0.0),
            Activation::Elu(a) => *a >= 0.0,
            Activation::Selu { alpha, gamma } => *alpha >= 0.0 && *gamma >= 0.0,
            Activation::HardSigmoid { alpha, .. } => *alpha >= 0.0,
            Activation::Clip { .. }
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Softplus
            | Activation::Erf => true,
            Activation::HardSwish | Activation::Gelu { .. } | Activation::Silu => false,
        }
    }

    /// Checks the parameters: finite, `min ≤ max`, and a PRelu slope of length 1 or
    /// `channels`. The message names what is wrong.
    pub(crate) fn validate(&self, channels: Option<usize>) -> Result<(), ActivationIssue> {
        let finite = |what: &'static str, value: f32| {
            if value.is_finite() {
                Ok(())
            } else {
                Err(ActivationIssue::NotFinite { what, value })
            }
        };
        match self {
            Activation::Clip { min, max } => {
                // PyTorch's Hardtanh/ReLU6 bounds are finite; an absent bound is ±∞ in ONNX.
                if min.is_nan() || max.is_nan() || min > max {
                    return Err(ActivationIssue::ClipBounds {
                        min: *min,
                        max: *max,
                    });
                }
                Ok(())
            }
            Activation::LeakyRelu(a) | Activation::Elu(a) => finite("alpha", *a),
            Activation::Prelu(s) => {
                if let Some(i) = s.iter().position(|v| !v.is_finite()) {
                    return Err(ActivationIssue::Slope { index: i });
                }
                match channels {
                    _ if s.len() == 1 => Ok(()),
                    Some(c) if s.len() == c => Ok(()),
                    channels => Err(ActivationIssue::SlopeCount {
                        slopes: s.len(),
                        channels,
                    }),
                }
            }
            Activation::Selu { alpha, gamma } => {
                finite("alpha", *alpha)?;
                finite("gamma", *gamma)
            }
            Activation::HardSigmoid { alpha, beta } => {
                finite("alpha", *alpha)?;
                finite("beta", *beta)
            }
            Activation::Sigmoid
            | Activation::HardSwish
            | Activation::Tanh
            | Activation::Softplus
            | Activation::Gelu { .. }
            | Activation::Erf
            | Activation::Silu => Ok(()),
        }
    }
}

fn slope(s: &Array1<f32>, c: usize) -> f32 {
    if s.len() == 1 { s[0] } else { s[c] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Activation> {
        vec![
            Activation::Clip { min: 0.0, max: 6.0 },
            Activation::LeakyRelu(0.1),
            Activation::Prelu(Array1::from(vec![0.25, -0.5])),
            Activation::Elu(1.0),
            Activation::Selu {
                alpha: 1.673_263_2,
                gamma: 1.050_701,
            },
            Activation::Sigmoid,
            Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
            Activation::HardSwish,
            Activation::Tanh,
            Activation::Softplus,
            Activation::Gelu { tanh: false },
            Activation::Gelu { tanh: true },
            Activation::Erf,
            Activation::Silu,
        ]
    }

    #[test]
    fn hand_computed_values() {
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert_eq!(Activation::Clip { min: 0.0, max: 6.0 }.apply(7.5, 0), 6.0);
        assert_eq!(Activation::Clip { min: 0.0, max: 6.0 }.apply(-1.0, 0), 0.0);
        assert_eq!(Activation::LeakyRelu(0.1).apply(-2.0, 0), -0.2);
        let p = Activation::Prelu(Array1::from(vec![0.25, -0.5]));
        assert_eq!(
            (p.apply(-2.0, 0), p.apply(-2.0, 1), p.apply(3.0, 1)),
            (-0.5, 1.0, 3.0)
        );
        assert!(close(Activation::Sigmoid.apply(0.0, 0), 0.5));
        assert!(close(
            Activation::HardSwish.apply(1.0, 0),
            1.0 * (1.0 / 6.0 + 0.5)
        ));
        assert_eq!(Activation::HardSwish.apply(-4.0, 0), 0.0);
        assert!(close(
            Activation::Softplus.apply(0.0, 0),
            std::f32::consts::LN_2
        ));
        assert!(close(Activation::Erf.apply(1.0, 0), 0.842_700_8));
        assert!(close(
            Activation::Gelu { tanh: false }.apply(1.0, 0),
            0.841_344_7
        ));
        assert!(close(Activation::Silu.apply(1.0, 0), 0.731_058_6));
        assert!(close(Activation::Elu(1.0).apply(-1.0, 0), -0.632_120_56));
        assert!(Activation::Softplus.apply(100.0, 0) == 100.0);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for act in all() {
            for &x in &[-3.7f32, -1.3, -0.4, 0.3, 0.9, 2.2, 4.1] {
                for c in 0..2 {
                    let h = 1e-3f64;
                    let (p, m) = (x as f64 + h, x as f64 - h);
                    let num =
                        (act.apply(p as f32, c) as f64 - act.apply(m as f32, c) as f64) / (2.0 * h);
                    let ana = act.derivative(x, c) as f64;
                    assert!(
                        (num - ana).abs() < 2e-3,
                        "{} at {x}: numeric {num}, analytic {ana}",
                        act.kind()
                    );
                }
            }
        }
    }

    #[test]
    fn monotone_ones_never_decrease() {
        for act in all().into_iter().filter(Activation::is_monotone) {
            let mut prev = f32::NEG_INFINITY;
            for i in -100..=100 {
                let y = act.apply(i as f32 * 0.07, 0);
                assert!(y >= prev, "{} decreases at {}", act.kind(), i as f32 * 0.07);
                prev = y;
            }
        }
        assert!(!Activation::Silu.is_monotone());
        assert!(!Activation::Prelu(Array1::from(vec![-0.5])).is_monotone());
    }

    #[test]
    fn validation() {
        assert!(
            Activation::Clip { min: 1.0, max: 0.0 }
                .validate(None)
                .is_err()
        );
        assert!(
            Activation::Prelu(Array1::from(vec![0.1, 0.2]))
                .validate(Some(3))
                .is_err()
        );
        assert!(
            Activation::Prelu(Array1::from(vec![0.1]))
                .validate(Some(3))
                .is_ok()
        );
        assert!(Activation::LeakyRelu(f32::NAN).validate(None).is_err());
    }
}
