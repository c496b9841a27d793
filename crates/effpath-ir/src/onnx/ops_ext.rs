//! ONNX → IR for what PyTorch exports beyond the classic CNN ops: activations, reductions
//! with axes as inputs (opset 13/18), binary ops of two computed tensors, Slice, Split, Pad,
//! ceil-mode pools and Flatten at any axis.

use ndarray::Array1;

use super::attr::NodeAttributes;
use super::fold;
use super::import::{Entry, Importer};
use super::ops::{Entries, affine, konst, need_konst, push, val};
use super::proto::NodeProto;
use crate::error::{IrError, NodeIssue, NodeUnsupported, Result};
use crate::graph::ValueId;
use crate::op::{Activation, Binary, Op, Pad, Slice, Window2d};

/// A scalar constant input (`None` when absent).
fn scalar(
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
    i: usize,
    what: &'static str,
) -> Result<Option<f32>> {
    match konst(a, node, e, i, what)? {
        None => Ok(None),
        Some(c) => {
            let v = c.to_f32();
            match v.iter().next() {
                Some(&x) if v.len() == 1 => Ok(Some(x)),
                _ => Err(a.error(NodeIssue::NotScalar {
                    what,
                    shape: c.shape().to_vec(),
                })),
            }
        }
    }
}

/// The element-wise activations (every ONNX operator that maps to an [`Activation`]).
pub(super) fn activation(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
) -> Result<Entry> {
    let x = val(a, node, e, 0)?;
    let alpha = |d: f32| -> Result<f32> { Ok(a.get_float("alpha")?.unwrap_or(d)) };
    let act = match node.op_type() {
        "Clip" => {
            // Before opset 11 the bounds are attributes, from 11 optional inputs; absent
            // bounds are the float limits.
            let (min, max) = if imp.opset < 11 {
                (a.get_float("min")?, a.get_float("max")?)
            } else {
                (scalar(a, node, e, 1, "min")?, scalar(a, node, e, 2, "max")?)
            };
            Activation::Clip {
                min: min.unwrap_or(f32::MIN),
                max: max.unwrap_or(f32::MAX),
            }
        }
        "LeakyRelu" => Activation::LeakyRelu(alpha(0.01)?),
        "PRelu" => {
            let s = need_konst(a, node, e, 1, "slope")?;
            let shape = imp.builder.shape(x).unwrap_or_default().to_vec();
            let v = super::ops::per_channel(s, &shape).ok_or_else(|| {
                a.error(NodeUnsupported::PreluSlope {
                    slope: s.shape().to_vec(),
                    input: shape.clone(),
                })
            })?;
            // A single shared slope stays a single value.
            let v = if s.shape().iter().product::<usize>() == 1 {
                Array1::from_elem(1, v[0])
            } else {
                v
            };
            Activation::Prelu(v)
        }
        "Elu" => Activation::Elu(alpha(1.0)?),
        "Selu" => Activation::Selu {
            alpha: alpha(1.673_263_2)?,
            gamma: a.get_float("gamma")?.unwrap_or(1.050_701),
        },
        "Sigmoid" => Activation::Sigmoid,
        "HardSigmoid" => Activation::HardSigmoid {
            alpha: alpha(0.2)?,
            beta: a.get_float("beta")?.unwrap_or(0.5),
        },
        "HardSwish" => Activation::HardSwish,
        "Tanh" => Activation::Tanh,
        "Softplus" => Activation::Softplus,
        "Erf" => Activation::Erf,
        "Gelu" => match a.get_string("approximate")?.unwrap_or("none") {
            "none" => Activation::Gelu { tanh: false },
            "tanh" => Activation::Gelu { tanh: true },
            other => {
                return Err(a.error(NodeUnsupported::GeluApproximate {
                    value: other.to_owned(),
                }));
            }
        },
        other => {
            return Err(a.error(NodeUnsupported::Operator {
                op: other.to_owned(),
            }));
        }
    };
    push(imp, a, node, Op::Activation(act), &[x])
}

/// ReduceMean / ReduceSum over the spatial axes of an NCHW tensor (axes an attribute before
/// opset 18 (ReduceMean) / 13 (ReduceSum), an optional input after) → GlobalAvgPool (times
/// H·W for a sum), then a reshape when `keepdims = 0`.
pub(super) fn reduce(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
) -> Result<Entry> {
    let x = val(a, node, e, 0)?;
    let shape = imp.builder.shape(x).unwrap_or_default().to_vec();
    let rank = shape.len() + 1;
    let raw: Vec<i64> = match a.get_ints("axes")? {
        Some(v) => v.to_vec(),
        None => match konst(a, node, e, 1, "axes")? {
            Some(c) => c.to_i64(a)?.iter().copied().collect(),
            None => Vec::new(),
        },
    };
    let noop = a.get_int("noop_with_empty_axes")?.unwrap_or(0) != 0;
    if raw.is_empty() && noop {
        return Ok(Entry::Value(x));
    }
    let mut axes: Vec<usize> = raw
        .iter()
        .map(|&v| fold::axis(a, v, rank))
        .collect::<Result<_>>()?;
    if axes.is_empty() {
        axes = (0..rank).collect();
    }
    axes.sort_unstable();
    let keep = a.get_int("keepdims")?.unwrap_or(1) != 0;
    let op_type = node.op_type();
    if rank != 4 || axes != [2, 3] {
        return Err(a.error(NodeUnsupported::ReduceAxes {
            op: op_type.to_owned(),
            axes,
            rank,
        }));
    }
    let mut v = match push(imp, a, node, Op::GlobalAvgPool, &[x])? {
        Entry::Value(v) => v,
        _ => return Err(internal(a, "the global pool")),
    };
    if op_type == "ReduceSum" {
        let c = shape[0];
        let hw = (shape[1] * shape[2]) as f32;
        v = match affine(imp, a, node, v, Some(Array1::from_elem(c, hw)), None)? {
            Entry::Value(v) => v,
            _ => return Err(internal(a, "the ReduceSum scale")),
        };
    }
    if keep {
        return Ok(Entry::Value(v));
    }
    let name = format!("{}/squeeze", imp.unique_name(node));
    imp.builder
        .push_named(name, Op::Reshape(vec![shape[0]]), &[v])
        .map(Entry::Value)
        .map_err(|e| a.error(e))
}

/// An [`NodeIssue::Internal`] error: `step` did not give a computed value.
fn internal(a: &NodeAttributes, step: &'static str) -> IrError {
    a.error(NodeIssue::Internal { step })
}

/// Add/Sub/Mul/Div of two computed tensors. A `Mul` of `x` by `Sigmoid(x)` is fused to SiLU;
/// an `Add` of equal shapes stays the skip-connection [`Op::Add`]; everything else is a
/// broadcasting [`Op::Binary`].
pub(super) fn binary_values(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    values: &[ValueId],
) -> Result<Entry> {
    let op = match node.op_type() {
        "Add" => Binary::Add,
        "Sub" => Binary::Sub,
        "Mul" => Binary::Mul,
        "Div" => Binary::Div,
        other => {
            return Err(a.error(NodeUnsupported::ComputedBinary {
                op: other.to_owned(),
                inputs: values.len(),
            }));
        }
    };
    let [x, y] = values else {
        return Err(a.error(NodeIssue::InputCount {
            expected: 2,
            got: values.len(),
        }));
    };
    if op == Binary::Mul {
        for (p, q) in [(*x, *y), (*y, *x)] {
            let is_sigmoid_of_p = imp
                .builder
                .node(q)
                .is_some_and(|n| n.op == Op::Activation(Activation::Sigmoid) && n.inputs == [p]);
            if is_sigmoid_of_p {
                return push(imp, a, node, Op::Activation(Activation::Silu), &[p]);
            }
        }
    }
    let same = imp.builder.shape(*x) == imp.builder.shape(*y);
    if op == Binary::Add && same {
        return push(imp, a, node, Op::Add, &[*x, *y]);
    }
    push(imp, a, node, Op::Binary(op), &[*x, *y])
}

/// The integer list of attribute `name` (older opsets) or of constant input `i` (newer).
fn ints_of(
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
    name: &'static str,
    i: usize,
) -> Result<Option<Vec<i64>>> {
    if let Some(v) = a.get_ints(name)? {
        return Ok(Some(v.to_vec()));
    }
    Ok(match konst(a, node, e, i, name)? {
        Some(c) => Some(c.to_i64(a)?.iter().copied().collect()),
        None => None,
    })
}

/// Pushes one slice node per sliced per-sample axis of `x`; `(axis, start, step, len)` with
/// `axis` the full (batched) axis.
fn push_slices(
    imp: &mut Importer,
    a: &NodeAttributes,
    mut x: ValueId,
    parts: &[(usize, usize, usize, usize)],
    name: &str,
) -> Result<ValueId> {
    for (k, &(axis, start, step, len)) in parts.iter().enumerate() {
        let dim = imp.builder.shape(x).unwrap_or_default()[axis - 1];
        if start == 0 && step == 1 && len == dim {
            continue;
        }
        let n = if k + 1 == parts.len() {
            name.to_string()
        } else {
            format!("{name}/axis{axis}")
        };
        let s = Slice {
            axis: axis - 1,
            start,
            step,
            len,
        };
        x = imp
            .builder
            .push_named(n, Op::Slice(s), &[x])
            .map_err(|err| a.error(err))?;
        super::ops::check_value_shape(imp, a, x)?;
    }
    Ok(x)
}

/// Slice with starts/ends/axes/steps as attributes (opset < 10) or inputs (10+), ONNX
/// clamping; positive steps only, the batch axis untouched.
pub(super) fn slice(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
) -> Result<Entry> {
    let x = val(a, node, e, 0)?;
    let full: Vec<usize> = std::iter::once(imp.batch)
        .chain(imp.builder.shape(x).unwrap_or_default().iter().copied())
        .collect();
    let rank = full.len();
    let missing = |what| a.error(NodeIssue::MissingOperand { what });
    let starts = ints_of(a, node, e, "starts", 1)?.ok_or_else(|| missing("starts"))?;
    let ends = ints_of(a, node, e, "ends", 2)?.ok_or_else(|| missing("ends"))?;
    let axes =
        ints_of(a, node, e, "axes", 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = konst(a, node, e, 4, "steps")?
        .map(|c| c.to_i64(a).map(|v| v.iter().copied().collect::<Vec<_>>()))
        .transpose()?
        .unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(a.error(NodeIssue::SliceLengths));
    }
    let mut parts = Vec::new();
    for k in 0..starts.len() {
        let ax = fold::axis(a, axes[k], rank)?;
        let d = full[ax] as i64;
        let step = steps[k];
        if step < 1 {
            return Err(a.error(NodeUnsupported::SliceStep { step }));
        }
        let clamp = |v: i64| (if v < 0 { v.saturating_add(d) } else { v }).clamp(0, d);
        let (s, t) = (clamp(starts[k]), clamp(ends[k]));
        let len = if t > s { (t - s + step - 1) / step } else { 0 };
        if len == 0 {
            return Err(a.error(NodeIssue::EmptySlice { axis: ax }));
        }
        if ax == 0 {
            if len != d || step != 1 {
                return Err(a.error(NodeUnsupported::BatchAxis { action: "Slice of" }));
            }
            continue;
        }
        parts.push((ax, s as usize, step as usize, len as usize));
    }
    let name = imp.unique_name(node);
    Ok(Entry::Value(push_slices(imp, a, x, &parts, &name)?))
}

/// Split into slices along one axis: sizes from the `split` attribute (< 13), the `split`
/// input (13+), `num_outputs` (18+) or equal parts.
pub(super) fn split(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
) -> Result<Vec<Entry>> {
    let x = val(a, node, e, 0)?;
    let per = imp.builder.shape(x).unwrap_or_default().to_vec();
    let rank = per.len() + 1;
    let ax = fold::axis(a, a.get_int("axis")?.unwrap_or(0), rank)?;
    if ax == 0 {
        return Err(a.error(NodeUnsupported::BatchAxis { action: "Split of" }));
    }
    let d = per[ax - 1];
    let n_out = node.output.len();
    a.get_int("num_outputs")?;
    let sizes: Vec<usize> = match ints_of(a, node, e, "split", 1)? {
        Some(s) => s
            .iter()
            .map(|&v| usize::try_from(v).map_err(|_| a.error(NodeIssue::NegativeSplit { size: v })))
            .collect::<Result<_>>()?,
        None => {
            let n = n_out.max(1);
            let part = d.div_ceil(n);
            (0..n)
                .map(|i| part.min(d.saturating_sub(i * part)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != d || sizes.len() != n_out || sizes.contains(&0) {
        return Err(a.error(NodeIssue::SplitPartition {
            sizes,
            outputs: n_out,
            axis: ax,
            size: d,
        }));
    }
    let base = imp.unique_name(node);
    let mut start = 0;
    let mut out = Vec::with_capacity(n_out);
    for (i, &len) in sizes.iter().enumerate() {
        let v = push_slices(imp, a, x, &[(ax, start, 1, len)], &format!("{base}:{i}"))?;
        out.push(Entry::Value(v));
        start += len;
    }
    Ok(out)
}

/// Constant Pad with pads (and value) as attributes (< 11) or inputs (11+), optional axes
/// (18+); non-negative pads, the batch axis unpadded.
pub(super) fn pad(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
) -> Result<Entry> {
    let x = val(a, node, e, 0)?;
    let per = imp.builder.shape(x).unwrap_or_default().to_vec();
    let rank = per.len() + 1;
    match a.get_string("mode")?.unwrap_or("constant") {
        "constant" => {}
        other => {
            return Err(a.error(NodeUnsupported::PadMode {
                mode: other.to_owned(),
            }));
        }
    }
    let pads = ints_of(a, node, e, "pads", 1)?
        .ok_or_else(|| a.error(NodeIssue::MissingOperand { what: "pads" }))?;
    let value = match a.get_float("value")? {
        Some(v) => v,
        None => scalar(a, node, e, 2, "constant_value")?.unwrap_or(0.0),
    };
    let axes: Vec<usize> = match konst(a, node, e, 3, "axes")? {
        Some(c) => c
            .to_i64(a)?
            .iter()
            .map(|&v| fold::axis(a, v, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(a.error(NodeIssue::PadCount {
            pads: pads.len(),
            axes: axes.len(),
        }));
    }
    let mut begin = vec![0; rank];
    let mut end = vec![0; rank];
    for (k, &ax) in axes.iter().enumerate() {
        let (b, t) = (pads[k], pads[k + axes.len()]);
        if b < 0 || t < 0 {
            return Err(a.error(NodeUnsupported::NegativePads { pads }));
        }
        begin[ax] = b as usize;
        end[ax] = t as usize;
    }
    if begin[0] != 0 || end[0] != 0 {
        return Err(a.error(NodeUnsupported::BatchAxis { action: "padding" }));
    }
    if begin.iter().chain(&end).all(|&v| v == 0) {
        return Ok(Entry::Value(x));
    }
    let p = Pad {
        begin: begin[1..].to_vec(),
        end: end[1..].to_vec(),
        value,
    };
    push(imp, a, node, Op::Pad(p), &[x])
}

/// Extends `win.pads_end` so that the floor output size equals ONNX's `ceil_mode = 1` size:
/// `⌈(in + pads − k) / s⌉ + 1`, minus one when the last window would start in the end
/// padding (the rule of PyTorch and ONNX Runtime). Returns whether any padding was added.
pub(super) fn ceil_mode(a: &NodeAttributes, win: &mut Window2d, input: [usize; 2]) -> Result<bool> {
    let mut added = false;
    for ax in 0..2 {
        let (k, s) = (win.kernel[ax], win.stride[ax].max(1));
        let padded = input[ax] + win.pads_begin[ax] + win.pads_end[ax];
        if padded < k {
            return Err(a.error(NodeIssue::KernelLarger {
                input,
                kernel: win.kernel,
            }));
        }
        let mut out = (padded - k).div_ceil(s) + 1;
        if (out - 1) * s >= input[ax] + win.pads_begin[ax] {
            out -= 1;
        }
        let need = (out - 1) * s + k;
        if need > padded {
            win.pads_end[ax] += need - padded;
            added = true;
        }
    }
    Ok(added)
}

/// Flatten at axis `ax` of the full shape: axis 1 is [`Op::Flatten`]; a larger axis whose
/// leading per-sample axes are all 1 is a reshape to one axis; anything else would move the
/// batch axis.
pub(super) fn flatten(
    imp: &mut Importer,
    a: &NodeAttributes,
    node: &NodeProto,
    e: &Entries,
) -> Result<Entry> {
    let x = val(a, node, e, 0)?;
    let per = imp.builder.shape(x).unwrap_or_default().to_vec();
    let rank = per.len() + 1;
    let raw = a.get_int("axis")?.unwrap_or(1);
    let ax = if raw < 0 { raw + rank as i64 } else { raw };
    if ax < 0 || ax > rank as i64 {
        return Err(a.error(NodeIssue::Axis { axis: raw, rank }));
    }
    let ax = ax as usize;
    if ax == 1 {
        return push(imp, a, node, Op::Flatten, &[x]);
    }
    if ax >= 2 && per[..ax - 1].iter().all(|&d| d == 1) {
        let n: usize = per[ax - 1..].iter().product();
        return push(imp, a, node, Op::Reshape(vec![n]), &[x]);
    }
    Err(a.error(NodeUnsupported::FlattenBatch {
        axis: raw,
        shape: per,
    }))
}

/// `Greater(x, t)` of a computed `x` and a scalar constant `t`: kept as a marker for `Where`.
pub(super) fn greater(a: &NodeAttributes, node: &NodeProto, e: &Entries) -> Result<Entry> {
    let x = val(a, node, e, 0)?;
    let threshold = scalar(a, node, e, 1, "threshold")?
        .ok_or_else(|| a.error(NodeUnsupported::GreaterComputed))?;
    Ok(Entry::Greater { x, threshold })
}

/// `Where(x > t, x, Softplus(x))` with `t ≥ 15` is `Softplus(x)` to `f32` precision
/// (`ln(1 + e⁻ˣ) < 3.1·10⁻⁷` there, below half an ulp of `x`): PyTorch's `softplus`
/// threshold. Every other `Where` is unsupported.
pub(super) fn where_(imp: &mut Importer, a: &NodeAttributes, e: &Entries) -> Result<Entry> {
    if let (
        Some(Some(Entry::Greater { x, threshold })),
        Some(Some(Entry::Value(p))),
        Some(Some(Entry::Value(q))),
    ) = (e.first(), e.get(1), e.get(2))
    {
        let softplus_of_x = imp
            .builder
            .node(*q)
            .is_some_and(|n| n.op == Op::Activation(Activation::Softplus) && n.inputs == [*x]);
        if p == x && softplus_of_x && *threshold >= 15.0 {
            return Ok(Entry::Value(*q));
        }
    }
    Err(a.error(NodeUnsupported::Where))
}
