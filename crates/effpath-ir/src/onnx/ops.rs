//! ONNX → IR: one function per supported ONNX operator on computed (non-constant) inputs.

use ndarray::{Array1, Array2, Array4, Ix2, Ix4};

use super::attr::NodeAttributes;
use super::fold::{self, Const};
use super::import::{Entry, Importer};
use super::proto::NodeProto;
use crate::error::{AttributeIssue, NodeIssue, NodeUnsupported, Result};
use crate::graph::ValueId;
use crate::op::{AvgPool2d, BatchNorm, Conv2d, Dense, Lrn, Op, Window2d};

pub(super) type Entries = [Option<Entry>];

pub(super) fn val(a: &NodeAttributes, node: &NodeProto, e: &Entries, i: usize) -> Result<ValueId> {
    match e.get(i) {
        Some(Some(Entry::Value(v))) => Ok(*v),
        Some(Some(_)) => Err(a.error(NodeIssue::ConstantInput {
            input: node.input[i].clone(),
        })),
        _ => Err(a.error(NodeIssue::MissingInput {
            index: i,
            what: None,
        })),
    }
}

pub(super) fn konst<'e>(
    a: &NodeAttributes,
    node: &NodeProto,
    e: &'e Entries,
    i: usize,
    what: &'static str,
) -> Result<Option<&'e Const>> {
    match e.get(i) {
        Some(Some(Entry::Const(c))) => Ok(Some(c)),
        Some(Some(_)) => Err(a.error(NodeIssue::NotConstant {
            input: node.input[i].clone(),
            what,
        })),
        _ => Ok(None),
    }
}

pub(super) fn need_konst<'e>(
    a: &NodeAttributes,
    node: &NodeProto,
    e: &'e Entries,
    i: usize,
    what: &'static str,
) -> Result<&'e Const> {
    konst(a, node, e, i, what)?.ok_or_else(|| {
        a.error(NodeIssue::MissingInput {
            index: i,
            what: Some(what),
        })
    })
}

pub(super) fn push(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    op: Op,
    inputs: &[ValueId],
) -> Result<Entry> {
    let name = imp.unique_name(node);
    let v = imp
        .builder
        .push_named(name, op, inputs)
        .map_err(|e| a.error(e))?;
    check_value_shape(imp, a, v)?;
    Ok(Entry::Value(v))
}

/// Errors when a computed value's shape is beyond the import limits: rank above
/// [`ImportLimits::max_rank`](super::ImportLimits), or an element count (batch included)
/// that overflows.
pub(super) fn check_value_shape(imp: &Importer, a: &NodeAttributes, v: ValueId) -> Result<()> {
    let shape = imp.builder.shape(v).unwrap_or_default();
    if shape.len() + 1 > imp.limits.max_rank {
        return Err(a.error(NodeIssue::OutputRank {
            rank: shape.len() + 1,
            limit: imp.limits.max_rank,
        }));
    }
    if shape
        .iter()
        .try_fold(imp.batch, |acc, &d| acc.checked_mul(d))
        .is_none()
    {
        return Err(a.error(NodeIssue::OutputSize {
            shape: shape.to_vec(),
            batch: imp.batch,
        }));
    }
    Ok(())
}

fn pair(a: &NodeAttributes, name: &'static str, v: &[i64]) -> Result<[usize; 2]> {
    match v {
        [x, y] if *x >= 0 && *y >= 0 => Ok([*x as usize, *y as usize]),
        _ => Err(a.error(AttributeIssue::Ints {
            name,
            value: v.to_vec(),
            expected: "only 2-D windows with non-negative values are supported",
        })),
    }
}

/// Window geometry and dilation of Conv/MaxPool/AveragePool from `kernel_shape`,
/// `strides`, `pads`, `auto_pad` and `dilations` (≥ 1 for Conv, 1 for pools).
fn window(
    imp: &Importer,
    a: &NodeAttributes,
    x: ValueId,
    kernel: Option<[usize; 2]>,
) -> Result<(Window2d, [usize; 2])> {
    let kernel = match (a.get_ints("kernel_shape")?, kernel) {
        (Some(k), w) => {
            let k = pair(a, "kernel_shape", k)?;
            if let Some(w) = w
                && w != k
            {
                return Err(a.error(AttributeIssue::KernelShape {
                    attribute: k,
                    weight: w,
                }));
            }
            k
        }
        (None, Some(w)) => w,
        (None, None) => {
            return Err(a.error(AttributeIssue::Missing {
                name: "kernel_shape",
            }));
        }
    };
    let stride = match a.get_ints("strides")? {
        Some(s) => pair(a, "strides", s)?,
        None => [1, 1],
    };
    let dilation = match a.get_ints("dilations")? {
        Some(d) if a.op_type() == "Conv" => match d {
            [x, y] if *x >= 1 && *y >= 1 => [*x as usize, *y as usize],
            _ => {
                return Err(a.error(AttributeIssue::Ints {
                    name: "dilations",
                    value: d.to_vec(),
                    expected: "expected 2 values ≥ 1",
                }));
            }
        },
        Some(d) if d.iter().any(|&v| v != 1) => {
            return Err(a.error(NodeUnsupported::PoolDilation {
                dilations: d.to_vec(),
            }));
        }
        _ => [1, 1],
    };
    let mut win = Window2d {
        kernel,
        stride,
        pads_begin: [0, 0],
        pads_end: [0, 0],
    };
    if let Some(p) = a.get_ints("pads")? {
        match p {
            [t, l, b, r] if p.iter().all(|&v| v >= 0) => {
                win.pads_begin = [*t as usize, *l as usize];
                win.pads_end = [*b as usize, *r as usize];
            }
            _ => {
                return Err(a.error(AttributeIssue::Ints {
                    name: "pads",
                    value: p.to_vec(),
                    expected: "expected 4 non-negative values",
                }));
            }
        }
    }
    match a.get_string("auto_pad")?.unwrap_or("NOTSET") {
        "NOTSET" | "" => {}
        "VALID" => {
            win.pads_begin = [0, 0];
            win.pads_end = [0, 0];
        }
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            let shape = imp.builder.shape(x).unwrap_or_default();
            let [_, h, w] = shape else {
                return Err(a.error(NodeIssue::NotChw {
                    by: if mode == "SAME_UPPER" {
                        "auto_pad SAME_UPPER"
                    } else {
                        "auto_pad SAME_LOWER"
                    },
                    shape: shape.to_vec(),
                }));
            };
            for (ax, len) in [*h, *w].into_iter().enumerate() {
                let out = len.div_ceil(stride[ax].max(1));
                let extent = (kernel[ax] - 1) * dilation[ax] + 1;
                let total = ((out.saturating_sub(1)) * stride[ax] + extent).saturating_sub(len);
                let small = total / 2;
                let (b, e) = if mode == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                win.pads_begin[ax] = b;
                win.pads_end[ax] = e;
            }
        }
        other => {
            return Err(a.error(NodeUnsupported::AutoPad {
                mode: other.to_owned(),
            }));
        }
    }
    Ok((win, dilation))
}

/// Per-channel vector of a constant broadcast against per-sample shape `shape` (batch axis
/// first in ONNX), or `None` when it varies along another axis.
pub(super) fn per_channel(c: &Const, shape: &[usize]) -> Option<Array1<f32>> {
    let ch = *shape.first()?;
    let full_rank = shape.len() + 1;
    let cs = c.shape();
    if cs.len() > full_rank {
        return None;
    }
    let lead = full_rank - cs.len();
    let aligned: Vec<usize> = std::iter::repeat_n(1, lead)
        .chain(cs.iter().copied())
        .collect();
    if aligned[0] != 1
        || aligned[2..].iter().any(|&d| d != 1)
        || (aligned[1] != 1 && aligned[1] != ch)
    {
        return None;
    }
    let v: Vec<f32> = c.to_f32().iter().copied().collect();
    Some(if v.len() == 1 {
        Array1::from_elem(ch, v[0])
    } else {
        Array1::from(v)
    })
}

/// `x * s + t` by per-channel constants: folded into the producing BatchNorm/Dense when `x`
/// has no other reader, else a new affine BatchNorm node.
pub(super) fn affine(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    x: ValueId,
    s: Option<Array1<f32>>,
    t: Option<Array1<f32>>,
) -> Result<Entry> {
    let sole_reader = imp.readers(node.input[0].as_str()) == 1
        && node.input.iter().filter(|i| **i == node.input[0]).count() == 1;
    if sole_reader && let Some(op) = imp.builder.op_mut(x) {
        match op {
            Op::BatchNorm(bn) => {
                if let Some(s) = &s {
                    bn.gamma *= s;
                    bn.beta *= s;
                }
                if let Some(t) = &t {
                    bn.beta += t;
                }
                return Ok(Entry::Value(x));
            }
            Op::Dense(d) if s.is_none() && d.bias.is_none() => {
                d.bias = t;
                return Ok(Entry::Value(x));
            }
            _ => {}
        }
    }
    let n = imp
        .builder
        .shape(x)
        .and_then(|s| s.first().copied())
        .unwrap_or(0);
    let bn = BatchNorm::from_affine(
        s.unwrap_or_else(|| Array1::ones(n)),
        t.unwrap_or_else(|| Array1::zeros(n)),
    );
    push(imp, a, node, Op::BatchNorm(bn), &[x])
}

/// Maps one ONNX node with at least one computed input to IR ops.
pub(super) fn import_op(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
) -> Result<Entry> {
    let op_type = node.op_type();
    match op_type {
        "Identity" | "Dropout" => {
            a.get_float("ratio")?;
            a.get_int("is_test")?;
            a.get_int("seed")?;
            Ok(Entry::Value(val(a, node, e, 0)?))
        }
        "Relu" => {
            let x = val(a, node, e, 0)?;
            push(imp, a, node, Op::Relu, &[x])
        }
        "Conv" => {
            let x = val(a, node, e, 0)?;
            let w = need_konst(a, node, e, 1, "weight")?.to_f32();
            let rank = w.ndim();
            let w: Array4<f32> = w
                .into_dimensionality::<Ix4>()
                .map_err(|_| a.error(NodeUnsupported::ConvRank { rank }))?;
            let bias = konst(a, node, e, 2, "bias")?
                .map(|b| Array1::from_iter(b.to_f32().iter().copied()));
            let (_, _, kh, kw) = w.dim();
            let (window, dilation) = window(imp, a, x, Some([kh, kw]))?;
            let groups = a.get_int("group")?.unwrap_or(1);
            if groups < 1 {
                return Err(a.error(AttributeIssue::BelowOne {
                    name: "group",
                    value: groups,
                }));
            }
            let conv = Conv2d {
                weight: w,
                bias,
                window,
                dilation,
                groups: groups as usize,
            };
            push(imp, a, node, Op::Conv2d(conv), &[x])
        }
        "MaxPool" | "AveragePool" => {
            let x = val(a, node, e, 0)?;
            if let Some(k) = a.get_ints("kernel_shape")?
                && k.len() != 2
            {
                return Err(a.error(NodeUnsupported::PoolRank { kernel: k.to_vec() }));
            }
            let (mut win, _) = window(imp, a, x, None)?;
            let mut include = a.get_int("count_include_pad")?.unwrap_or(0) != 0;
            if a.get_int("ceil_mode")?.unwrap_or(0) != 0 {
                let shape = imp.builder.shape(x).unwrap_or_default().to_vec();
                let [_, h, w] = shape[..] else {
                    return Err(a.error(NodeIssue::NotChw {
                        by: "ceil_mode = 1",
                        shape,
                    }));
                };
                let explicit = win.pads_begin != [0, 0] || win.pads_end != [0, 0];
                let added = super::ops_ext::ceil_mode(a, &mut win, [h, w])?;
                if added && include {
                    if explicit {
                        return Err(a.error(NodeUnsupported::CeilIncludePad));
                    }
                    // Without explicit pads, counting the padding is counting nothing: the
                    // ceil extension is never in the divisor.
                    include = false;
                }
            }
            if a.get_int("storage_order")?.unwrap_or(0) != 0 {
                return Err(a.error(flag("storage_order", 1)));
            }
            let op = if op_type == "MaxPool" {
                Op::MaxPool2d(win)
            } else {
                Op::AvgPool2d(AvgPool2d {
                    window: win,
                    count_include_pad: include,
                })
            };
            push(imp, a, node, op, &[x])
        }
        "GlobalAveragePool" => {
            let x = val(a, node, e, 0)?;
            push(imp, a, node, Op::GlobalAvgPool, &[x])
        }
        "ReduceMean" | "ReduceSum" => super::ops_ext::reduce(imp, a, node, e),
        "Clip" | "LeakyRelu" | "PRelu" | "Elu" | "Selu" | "Sigmoid" | "HardSigmoid"
        | "HardSwish" | "Tanh" | "Softplus" | "Erf" | "Gelu" => {
            super::ops_ext::activation(imp, a, node, e)
        }
        "Slice" => super::ops_ext::slice(imp, a, node, e),
        "Greater" => super::ops_ext::greater(a, node, e),
        "Where" => super::ops_ext::where_(imp, a, e),
        "Pad" => super::ops_ext::pad(imp, a, node, e),
        "Gemm" | "MatMul" => gemm(imp, a, node, e),
        "Add" | "Sub" | "Mul" | "Div" | "Sum" => arithmetic(imp, a, node, e),
        "BatchNormalization" => {
            let x = val(a, node, e, 0)?;
            let p = |i: usize, what: &'static str| -> Result<Array1<f32>> {
                Ok(Array1::from_iter(
                    need_konst(a, node, e, i, what)?.to_f32().iter().copied(),
                ))
            };
            let bn = BatchNorm {
                gamma: p(1, "scale")?,
                beta: p(2, "bias")?,
                mean: p(3, "mean")?,
                var: p(4, "variance")?,
                epsilon: a.get_float("epsilon")?.unwrap_or(1e-5),
            };
            a.get_float("momentum")?;
            a.get_ints("consumed_inputs")?;
            if a.get_int("is_test")?.is_some_and(|t| t == 0) && imp.opset < 7 {
                return Err(a.error(flag("is_test", 0)));
            }
            if let Some(s) = a.get_int("spatial")?
                && s != 1
            {
                return Err(a.error(flag("spatial", s)));
            }
            if let Some(t) = a.get_int("training_mode")?
                && t != 0
            {
                return Err(a.error(flag("training_mode", t)));
            }
            push(imp, a, node, Op::BatchNorm(bn), &[x])
        }
        "LRN" => {
            let x = val(a, node, e, 0)?;
            let size = a
                .get_int("size")?
                .ok_or_else(|| a.error(AttributeIssue::Missing { name: "size" }))?;
            if size < 1 {
                return Err(a.error(AttributeIssue::BelowOne {
                    name: "size",
                    value: size,
                }));
            }
            let lrn = Lrn {
                size: size as usize,
                alpha: a.get_float("alpha")?.unwrap_or(1e-4),
                beta: a.get_float("beta")?.unwrap_or(0.75),
                bias: a.get_float("bias")?.unwrap_or(1.0),
            };
            push(imp, a, node, Op::Lrn(lrn), &[x])
        }
        "Flatten" => super::ops_ext::flatten(imp, a, node, e),
        "Reshape" | "Unsqueeze" | "Squeeze" => reshape(imp, a, node, e),
        "Transpose" => {
            let x = val(a, node, e, 0)?;
            let rank = imp.builder.shape(x).map_or(0, |s| s.len() + 1);
            let perm: Vec<usize> = match a.get_ints("perm")? {
                Some(p) => p
                    .iter()
                    .map(|&v| fold::axis(a, v, rank))
                    .collect::<Result<_>>()?,
                None => (0..rank).rev().collect(),
            };
            if perm.first() != Some(&0) {
                return Err(a.error(NodeUnsupported::MovesBatchAxis { perm }));
            }
            let per: Vec<usize> = perm[1..].iter().map(|p| p.saturating_sub(1)).collect();
            push(imp, a, node, Op::Transpose(per), &[x])
        }
        "Concat" => {
            let xs: Vec<ValueId> = (0..node.input.len())
                .map(|i| val(a, node, e, i))
                .collect::<Result<_>>()?;
            let rank = imp.builder.shape(xs[0]).map_or(0, |s| s.len() + 1);
            let ax = fold::axis(
                a,
                a.get_int("axis")?
                    .ok_or_else(|| a.error(AttributeIssue::Missing { name: "axis" }))?,
                rank,
            )?;
            if ax == 0 {
                return Err(a.error(NodeUnsupported::BatchAxis {
                    action: "concatenation along",
                }));
            }
            push(imp, a, node, Op::Concat(ax - 1), &xs)
        }
        "Softmax" | "LogSoftmax" => {
            let x = val(a, node, e, 0)?;
            let rank = imp.builder.shape(x).map_or(0, |s| s.len() + 1);
            let default = if imp.opset < 13 { 1 } else { -1 };
            let ax = fold::axis(a, a.get_int("axis")?.unwrap_or(default), rank)?;
            // Before opset 13 the op flattens the axes from `axis` on; from 13 it is one axis.
            if ax != 1 || (imp.opset >= 13 && rank != 2) {
                return Err(a.error(NodeUnsupported::SoftmaxAxis {
                    op: op_type.to_owned(),
                    axis: ax,
                    rank,
                }));
            }
            let op = if op_type == "Softmax" {
                Op::Softmax
            } else {
                Op::LogSoftmax
            };
            push(imp, a, node, op, &[x])
        }
        other => Err(a.error(NodeUnsupported::Operator {
            op: other.to_owned(),
        })),
    }
}

/// An unsupported attribute value.
fn flag(attribute: &'static str, value: i64) -> NodeUnsupported {
    NodeUnsupported::Flag { attribute, value }
}

/// Gemm (`alpha·A·B' + beta·C`) and MatMul with constant weights → Dense.
fn gemm(imp: &mut Importer, a: &NodeAttributes, node: &NodeProto, e: &Entries) -> Result<Entry> {
    let x = val(a, node, e, 0)?;
    let b = need_konst(a, node, e, 1, "weight")?.to_f32();
    let rank = b.ndim();
    let b: Array2<f32> = b
        .into_dimensionality::<Ix2>()
        .map_err(|_| a.error(NodeUnsupported::MatrixWeight { rank }))?;
    let (weight, bias) = if node.op_type() == "Gemm" {
        if a.get_int("transA")?.unwrap_or(0) != 0 {
            return Err(a.error(flag("transA", 1)));
        }
        a.get_int("broadcast")?;
        let alpha = a.get_float("alpha")?.unwrap_or(1.0);
        let beta = a.get_float("beta")?.unwrap_or(1.0);
        let mut w = if a.get_int("transB")?.unwrap_or(0) != 0 {
            b
        } else {
            b.t().as_standard_layout().into_owned()
        };
        if alpha != 1.0 {
            w *= alpha;
        }
        let out = w.nrows();
        let bias = match konst(a, node, e, 2, "bias")? {
            Some(c) if beta != 0.0 => {
                let v = per_channel(c, &[out]).ok_or_else(|| {
                    a.error(NodeUnsupported::Bias {
                        shape: c.shape().to_vec(),
                        outputs: out,
                    })
                })?;
                Some(if beta != 1.0 { v * beta } else { v })
            }
            _ => None,
        };
        (w, bias)
    } else {
        (b.t().as_standard_layout().into_owned(), None)
    };
    push(imp, a, node, Op::Dense(Dense { weight, bias }), &[x])
}

/// Add/Sum of computed tensors (skip connections), and Add/Sub/Mul/Div by per-channel
/// constants (folded into a batch norm or a dense bias).
fn arithmetic(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
) -> Result<Entry> {
    a.get_int("broadcast")?;
    a.get_int("axis")?;
    let op_type = node.op_type();
    let values: Vec<ValueId> = e
        .iter()
        .filter_map(|x| {
            if let Some(Entry::Value(v)) = x {
                Some(*v)
            } else {
                None
            }
        })
        .collect();
    if values.len() == e.len() {
        let same = values
            .iter()
            .all(|v| imp.builder.shape(*v) == imp.builder.shape(values[0]));
        if op_type == "Sum" || (op_type == "Add" && same) {
            if values.len() == 1 {
                return Ok(Entry::Value(values[0]));
            }
            if !same {
                return Err(a.error(NodeUnsupported::SumShapes));
            }
            return push(imp, a, node, Op::Add, &values);
        }
        return super::ops_ext::binary_values(imp, a, node, &values);
    }
    let (x, c, x_first) = match (&e[0], e.get(1)) {
        (Some(Entry::Value(v)), Some(Some(Entry::Const(c)))) if e.len() == 2 => (*v, c, true),
        (Some(Entry::Const(c)), Some(Some(Entry::Value(v)))) if e.len() == 2 => (*v, c, false),
        _ => {
            return Err(a.error(NodeUnsupported::MixedConstants {
                op: op_type.to_owned(),
                inputs: e.len(),
            }));
        }
    };
    let shape = imp.builder.shape(x).unwrap_or_default().to_vec();
    let k = per_channel(c, &shape).ok_or_else(|| {
        a.error(NodeUnsupported::ConstantBroadcast {
            constant: c.shape().to_vec(),
            shape: shape.clone(),
        })
    })?;
    match (op_type, x_first) {
        ("Add" | "Sum", _) => affine(imp, a, node, x, None, Some(k)),
        ("Sub", true) => affine(imp, a, node, x, None, Some(-k)),
        ("Sub", false) => affine(
            imp,
            a,
            node,
            x,
            Some(Array1::from_elem(k.len(), -1.0)),
            Some(k),
        ),
        ("Mul", _) => affine(imp, a, node, x, Some(k), None),
        ("Div", true) => affine(imp, a, node, x, Some(k.mapv(|v| 1.0 / v)), None),
        _ => Err(a.error(NodeUnsupported::ConstantDividend)),
    }
}

/// Reshape (constant target), Unsqueeze and Squeeze of a computed tensor, keeping the batch axis.
fn reshape(imp: &mut Importer, a: &NodeAttributes, node: &NodeProto, e: &Entries) -> Result<Entry> {
    let x = val(a, node, e, 0)?;
    let per = imp.builder.shape(x).unwrap_or_default().to_vec();
    let full: Vec<usize> = std::iter::once(imp.batch)
        .chain(per.iter().copied())
        .collect();
    let consts: Vec<Option<&Const>> = e
        .iter()
        .map(|x| {
            if let Some(Entry::Const(c)) = x {
                Some(c)
            } else {
                None
            }
        })
        .collect();
    let target_full = match node.op_type() {
        "Reshape" => {
            a.get_int("allowzero")?;
            let t: Vec<i64> = match a.get_ints("shape")? {
                Some(s) => s.to_vec(),
                None => need_konst(a, node, e, 1, "shape")?
                    .to_i64(a)?
                    .iter()
                    .copied()
                    .collect(),
            };
            if t.first().is_some_and(|&b| b == -1) && t[1..].iter().all(|&d| d >= 0) {
                let per_t = fold::resolve_reshape(a, &per, &t[1..])?;
                std::iter::once(imp.batch).chain(per_t).collect()
            } else {
                fold::resolve_reshape(a, &full, &t)?
            }
        }
        "Unsqueeze" => fold::unsqueezed(a, &full, &fold::axes_of(a, &consts)?)?,
        _ => fold::squeezed(a, &full, &fold::axes_of(a, &consts)?)?,
    };
    if target_full.first() != Some(&imp.batch) || (target_full.len() == 1) {
        return Err(a.error(NodeUnsupported::ChangesBatchAxis {
            op: node.op_type().to_owned(),
            from: full,
            to: target_full,
        }));
    }
    let target = target_full[1..].to_vec();
    push(imp, a, node, Op::Reshape(target), &[x])
}
