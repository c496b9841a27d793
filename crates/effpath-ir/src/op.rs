//! The closed set of ops a network is made of, with their parameters.
//!
//! Shapes here are *per-sample* shapes: the batch dimension is implicit and never part of an
//! op's parameters (a conv input of per-sample shape `(C, H, W)` is an `(N, C, H, W)` tensor).

use ndarray::{Array1, Array2, Array4};

pub use crate::activation::Activation;

/// A 2-D window geometry shared by convolutions and pools: kernel, stride and explicit padding.
#[derive(Debug, Clone, PartialEq)]
pub struct Window2d {
    /// Kernel size `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]` (each ≥ 1).
    pub stride: [usize; 2],
    /// Padding added before the first row/column `[top, left]`.
    pub pads_begin: [usize; 2],
    /// Padding added after the last row/column `[bottom, right]`.
    pub pads_end: [usize; 2],
}

impl Window2d {
    /// A window of the given kernel and stride with no padding.
    pub fn new(kernel: [usize; 2], stride: [usize; 2]) -> Self {
        Window2d {
            kernel,
            stride,
            pads_begin: [0, 0],
            pads_end: [0, 0],
        }
    }

    /// The same window with symmetric padding `pad` on every side.
    pub fn with_padding(mut self, pad: usize) -> Self {
        self.pads_begin = [pad, pad];
        self.pads_end = [pad, pad];
        self
    }

    /// The input indices along `axis` (0 = rows, 1 = columns) covered by output position `o`,
    /// clipped to the input extent `len` (padding positions are never part of the range).
    pub fn input_range(&self, axis: usize, o: usize, len: usize) -> std::ops::Range<usize> {
        let start = (o * self.stride[axis]) as isize - self.pads_begin[axis] as isize;
        let end = start + self.kernel[axis] as isize;
        (start.max(0) as usize)..(end.clamp(0, len as isize) as usize)
    }

    /// The input index along `axis` read at kernel offset `k` by the window of output position
    /// `o` (`o·stride + k − pad_begin`), `None` when it falls in the padding of an input of
    /// extent `len`.
    pub(crate) fn input_index(&self, axis: usize, o: usize, k: usize, len: usize) -> Option<usize> {
        let i = (o * self.stride[axis] + k) as isize - self.pads_begin[axis] as isize;
        (0..len as isize).contains(&i).then_some(i as usize)
    }

    /// The output positions `lo..hi` (of `out` along `axis`) whose windows read kernel offset
    /// `k` inside an input of extent `len` (see [`Window2d::input_index`]); `lo ≤ hi ≤ out`,
    /// empty when none does. The one clipping rule of im2col and its adjoint col2im.
    pub(crate) fn output_span(
        &self,
        axis: usize,
        k: usize,
        len: usize,
        out: usize,
    ) -> std::ops::Range<usize> {
        let stride = self.stride[axis];
        let off = k as isize - self.pads_begin[axis] as isize;
        let lo = if off >= 0 {
            0
        } else {
            (-off as usize).div_ceil(stride).min(out)
        };
        let last = len as isize - 1 - off;
        let hi = if last < 0 {
            lo
        } else {
            out.min(last as usize / stride + 1).max(lo)
        };
        lo..hi
    }

    /// Kernel offset along `axis` of input index `i` inside the window of output position `o`
    /// (the true offset, padding included).
    pub fn kernel_offset(&self, axis: usize, o: usize, i: usize) -> usize {
        i + self.pads_begin[axis] - o * self.stride[axis]
    }

    /// Output spatial size for an input of `[h, w]`, or `None` when the (padded) input is
    /// smaller than the kernel or a stride/kernel is zero.
    pub fn output_size(&self, input: [usize; 2]) -> Option<[usize; 2]> {
        let mut out = [0; 2];
        for a in 0..2 {
            if self.stride[a] == 0 || self.kernel[a] == 0 {
                return None;
            }
            let padded = input[a]
                .checked_add(self.pads_begin[a])?
                .checked_add(self.pads_end[a])?;
            if padded < self.kernel[a] {
                return None;
            }
            out[a] = (padded - self.kernel[a]) / self.stride[a] + 1;
        }
        Some(out)
    }
}

/// Fully connected layer: `y = W·x + b` with `W` of shape `(out, in)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Weight matrix `(out, in)`.
    pub weight: Array2<f32>,
    /// Optional bias `(out)`.
    pub bias: Option<Array1<f32>>,
}

/// 2-D convolution over `(C_in, H, W)` with weight `(C_out, C_in / groups, kh, kw)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    /// Kernel `(C_out, C_in / groups, kh, kw)`.
    pub weight: Array4<f32>,
    /// Optional bias `(C_out)`.
    pub bias: Option<Array1<f32>>,
    /// Stride and explicit padding; `window.kernel` must equal the kernel's `(kh, kw)`.
    pub window: Window2d,
    /// Dilation `[dh, dw]` (each ≥ 1): kernel tap `(ki, kj)` of output `(oy, ox)` reads
    /// input `(oy·sh − top + ki·dh, ox·sw − left + kj·dw)`.
    pub dilation: [usize; 2],
    /// Number of groups (`C_in` and `C_out` must both be multiples of it).
    pub groups: usize,
}

impl Conv2d {
    /// A convolution with stride 1, no padding, no dilation and one group.
    pub fn new(weight: Array4<f32>, bias: Option<Array1<f32>>) -> Self {
        let (_, _, kh, kw) = weight.dim();
        Conv2d {
            weight,
            bias,
            window: Window2d::new([kh, kw], [1, 1]),
            dilation: [1, 1],
            groups: 1,
        }
    }

    /// Sets the stride.
    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.window.stride = stride;
        self
    }

    /// Sets symmetric padding on every side.
    pub fn with_padding(mut self, pad: usize) -> Self {
        self.window = self.window.with_padding(pad);
        self
    }

    /// Sets the dilation.
    pub fn with_dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// The window with the dilated kernel extent `(k − 1)·d + 1` (what the output size and
    /// the receptive field follow); the window itself when the dilation is 1.
    pub fn dilated_window(&self) -> Window2d {
        let mut w = self.window.clone();
        for a in 0..2 {
            w.kernel[a] = (w.kernel[a].saturating_sub(1))
                .saturating_mul(self.dilation[a])
                .saturating_add(1);
        }
        w
    }

    /// Sets the number of groups.
    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
}

/// Average pooling: a window plus whether padded positions count in the divisor.
#[derive(Debug, Clone, PartialEq)]
pub struct AvgPool2d {
    /// Window geometry.
    pub window: Window2d,
    /// `true`: divide by `kh·kw` always; `false`: divide by the number of non-padding inputs.
    pub count_include_pad: bool,
}

/// Local response normalisation across channels (AlexNet style), forward only.
///
/// `y = x / (bias + alpha / size · Σ x²)^beta`, the sum running over the channels
/// `c − ⌊(size−1)/2⌋ ..= c + ⌈(size−1)/2⌉` (ONNX semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct Lrn {
    /// Number of channels summed over.
    pub size: usize,
    /// Scale.
    pub alpha: f32,
    /// Exponent.
    pub beta: f32,
    /// Additive constant (ONNX `bias`).
    pub bias: f32,
}

/// Batch normalisation over the channel axis (axis 0 of the per-sample shape).
///
/// Inference mode ([`crate::Network::forward`], [`crate::Network::predict`]):
/// `y = (x − mean) / sqrt(var + epsilon) · gamma + beta` with the running statistics. In
/// training mode ([`crate::Network::forward_train`]) the per-channel mean and biased variance
/// of the batch replace `mean` and `var`, and
/// [`crate::Network::update_batch_norm_stats`] moves the running statistics towards them.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Scale `(C)`.
    pub gamma: Array1<f32>,
    /// Shift `(C)`.
    pub beta: Array1<f32>,
    /// Running mean `(C)`.
    pub mean: Array1<f32>,
    /// Running variance `(C)`.
    pub var: Array1<f32>,
    /// Added to the variance.
    pub epsilon: f32,
}

impl BatchNorm {
    /// Per-channel `(scale, shift)` such that `y = x·scale + shift`, computed in `f64`.
    pub fn affine(&self) -> (Vec<f32>, Vec<f32>) {
        let n = self.gamma.len();
        let mut scale = Vec::with_capacity(n);
        let mut shift = Vec::with_capacity(n);
        for c in 0..n {
            let s = self.gamma[c] as f64 / (self.var[c] as f64 + self.epsilon as f64).sqrt();
            scale.push(s as f32);
            shift.push((self.beta[c] as f64 - self.mean[c] as f64 * s) as f32);
        }
        (scale, shift)
    }

    /// A per-channel affine map `y = x·scale + shift` written as a batch norm
    /// (mean 0, variance 1, epsilon 0), used when importing constant `Mul`/`Add` by a
    /// per-channel vector.
    pub fn from_affine(scale: Array1<f32>, shift: Array1<f32>) -> Self {
        let n = scale.len();
        BatchNorm {
            gamma: scale,
            beta: shift,
            mean: Array1::zeros(n),
            var: Array1::ones(n),
            epsilon: 0.0,
        }
    }
}

/// A binary element-wise op of two computed tensors with NumPy broadcasting over the
/// per-sample axes: both inputs have the same rank and every axis has equal sizes or size 1
/// in one of them (a squeeze-excitation gate `(C, 1, 1)` × `(C, H, W)`, a broadcast add).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binary {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a · b`.
    Mul,
    /// `a / b`.
    Div,
}

impl Binary {
    /// The ONNX operator name.
    pub fn onnx_name(self) -> &'static str {
        match self {
            Binary::Add => "Add",
            Binary::Sub => "Sub",
            Binary::Mul => "Mul",
            Binary::Div => "Div",
        }
    }
}

/// A strided slice along one per-sample axis: output index `o` reads input index
/// `start + o·step`, for `o < len` (a channel split is one slice per part).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slice {
    /// Per-sample axis (0 = channels).
    pub axis: usize,
    /// First input index.
    pub start: usize,
    /// Step (≥ 1).
    pub step: usize,
    /// Number of output elements along the axis (≥ 1).
    pub len: usize,
}

/// Constant padding of the per-sample axes (ONNX `Pad`, mode `constant`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pad {
    /// Elements added before each per-sample axis.
    pub begin: Vec<usize>,
    /// Elements added after each per-sample axis.
    pub end: Vec<usize>,
    /// The padding value.
    pub value: f32,
}

/// One operation of a network. A closed set: adding a variant makes the compiler list every
/// place (shape inference, forward, export, fingerprint, tracing) that must handle it.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Fully connected layer (weighted).
    Dense(Dense),
    /// 2-D convolution, possibly grouped (weighted).
    Conv2d(Conv2d),
    /// Max pooling; padded positions never win.
    MaxPool2d(Window2d),
    /// Average pooling.
    AvgPool2d(AvgPool2d),
    /// Mean over the spatial axes: `(C, H, W) → (C, 1, 1)`.
    GlobalAvgPool,
    /// `max(x, 0)`.
    Relu,
    /// Local response normalisation (forward only; tracing passes through it).
    Lrn(Lrn),
    /// Row-major flattening of the per-sample tensor to one axis.
    Flatten,
    /// Row-major reshape to a fixed per-sample shape with the same element count.
    Reshape(Vec<usize>),
    /// Permutation of the per-sample axes (the batch axis stays first).
    Transpose(Vec<usize>),
    /// Element-wise sum of two or more tensors of identical shape (skip connections).
    Add,
    /// Batch normalisation (running statistics; batch statistics in training mode).
    BatchNorm(BatchNorm),
    /// Concatenation along a per-sample axis (0 = channels).
    Concat(usize),
    /// Softmax over the whole per-sample tensor (kept at the output; ignored by tracing).
    Softmax,
    /// Log-softmax over the whole per-sample tensor (kept at the output; ignored by tracing).
    LogSoftmax,
    /// An element-wise activation other than ReLU.
    Activation(Activation),
    /// A binary element-wise op of two computed tensors, with broadcasting.
    Binary(Binary),
    /// A strided slice along one axis.
    Slice(Slice),
    /// Constant padding.
    Pad(Pad),
}

impl Op {
    /// Short name of the op kind, used in errors and listings.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Dense(_) => "Dense",
            Op::Conv2d(_) => "Conv2d",
            Op::MaxPool2d(_) => "MaxPool2d",
            Op::AvgPool2d(_) => "AvgPool2d",
            Op::GlobalAvgPool => "GlobalAvgPool",
            Op::Relu => "Relu",
            Op::Lrn(_) => "Lrn",
            Op::Flatten => "Flatten",
            Op::Reshape(_) => "Reshape",
            Op::Transpose(_) => "Transpose",
            Op::Add => "Add",
            Op::BatchNorm(_) => "BatchNorm",
            Op::Concat(_) => "Concat",
            Op::Softmax => "Softmax",
            Op::LogSoftmax => "LogSoftmax",
            Op::Activation(a) => a.kind(),
            Op::Binary(b) => match b {
                Binary::Add => "BroadcastAdd",
                Binary::Sub => "Sub",
                Binary::Mul => "Mul",
                Binary::Div => "Div",
            },
            Op::Slice(_) => "Slice",
            Op::Pad(_) => "Pad",
        }
    }

    /// `true` for the ops whose parameters are traced as weights (Dense and Conv2d).
    pub fn is_weighted(&self) -> bool {
        matches!(self, Op::Dense(_) | Op::Conv2d(_))
    }

    /// `true` for the output normalisations that tracing ignores (paths start at the logits).
    pub fn is_output_normalization(&self) -> bool {
        matches!(self, Op::Softmax | Op::LogSoftmax)
    }

    /// Number of trainable parameters (weights and biases; batch-norm statistics excluded).
    pub fn parameter_count(&self) -> usize {
        match self {
            Op::Dense(d) => d.weight.len() + d.bias.as_ref().map_or(0, |b| b.len()),
            Op::Conv2d(c) => c.weight.len() + c.bias.as_ref().map_or(0, |b| b.len()),
            Op::BatchNorm(b) => b.gamma.len() + b.beta.len(),
            Op::MaxPool2d(_)
            | Op::AvgPool2d(_)
            | Op::GlobalAvgPool
            | Op::Relu
            | Op::Lrn(_)
            | Op::Flatten
            | Op::Reshape(_)
            | Op::Transpose(_)
            | Op::Add
            | Op::Concat(_)
            | Op::Softmax
            | Op::LogSoftmax
            | Op::Activation(_)
            | Op::Binary(_)
            | Op::Slice(_)
            | Op::Pad(_) => 0,
        }
    }
}
