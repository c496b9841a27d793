//! Adam (Kingma & Ba), as TensorFlow's `AdamOptimizer` computes it: the one optimiser of the
//! Carlini–Wagner attack (in `f64`, as its reference) and the patch training (in `f32`).

use std::ops::{Add, Div, Mul, Sub};

use ndarray::{Array3, ArrayView3, Zip};

/// The float type Adam's update is computed in (the moments are stored as `f32`).
pub(crate) trait Precision:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    /// 1.
    const ONE: Self;
    /// β₁ = 0.9 (TensorFlow's default).
    const BETA1: Self;
    /// β₂ = 0.999.
    const BETA2: Self;
    /// ε = 1e-8.
    const EPS: Self;
    /// `v` in this precision.
    fn of(v: f32) -> Self;
    /// `self` rounded to `f32`.
    fn to_f32(self) -> f32;
    /// Square root.
    fn sqrt(self) -> Self;
    /// `self^n`.
    fn powi(self, n: i32) -> Self;
}

impl Precision for f32 {
    const ONE: f32 = 1.0;
    const BETA1: f32 = 0.9;
    const BETA2: f32 = 0.999;
    const EPS: f32 = 1e-8;
    fn of(v: f32) -> f32 {
        v
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    fn powi(self, n: i32) -> f32 {
        f32::powi(self, n)
    }
}

impl Precision for f64 {
    const ONE: f64 = 1.0;
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPS: f64 = 1e-8;
    fn of(v: f32) -> f64 {
        f64::from(v)
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn powi(self, n: i32) -> f64 {
        f64::powi(self, n)
    }
}

/// Adam's state for one `(C, H, W)` parameter array: the step count and both moments.
#[derive(Debug, Clone)]
pub(crate) struct Adam {
    learning_rate: f32,
    t: i32,
    m: Array3<f32>,
    v: Array3<f32>,
}

impl Adam {
    /// Fresh state for parameters of shape `dim`.
    pub fn new(dim: (usize, usize, usize), learning_rate: f32) -> Self {
        Adam {
            learning_rate,
            t: 0,
            m: Array3::zeros(dim),
            v: Array3::zeros(dim),
        }
    }

    /// Back to the fresh state (moments 0, no step taken).
    pub fn reset(&mut self) {
        self.m.fill(0.0);
        self.v.fill(0.0);
        self.t = 0;
    }

    /// One step with gradient `grad` (the parameters' shape), computed in precision `P`:
    /// updates the moments and calls `apply(parameter, step)` with the bias-corrected step
    /// `lr_t · m / (√v + ε)` to subtract from each parameter.
    pub fn step<P: Precision>(
        &mut self,
        params: &mut Array3<f32>,
        grad: ArrayView3<'_, P>,
        apply: impl Fn(&mut f32, P),
    ) {
        self.t += 1;
        let lr_t = P::of(self.learning_rate) * (P::ONE - P::BETA2.powi(self.t)).sqrt()
            / (P::ONE - P::BETA1.powi(self.t));
        Zip::from(params)
            .and(&mut self.m)
            .and(&mut self.v)
            .and(grad)
            .for_each(|p, m, v, &g| {
                let mm = P::BETA1 * P::of(*m) + (P::ONE - P::BETA1) * g;
                let vv = P::BETA2 * P::of(*v) + (P::ONE - P::BETA2) * g * g;
                *m = mm.to_f32();
                *v = vv.to_f32();
                apply(p, lr_t * mm / (vv.sqrt() + P::EPS));
            });
    }
}
