//! Constant folding at import: ONNX nodes whose inputs are all constants are evaluated once
//! (`Constant`, `ConstantOfShape`, `Transpose` of a weight, the `Shape → Gather → Unsqueeze →
//! Concat` chain PyTorch emits for `x.view(x.size(0), -1)`, …).

use ndarray::{ArrayD, Axis, IxDyn};

use super::attr::NodeAttributes;
use super::proto::tensor_proto::DataType;
use super::tensor::{tensor_to_f32, tensor_to_i64};
use crate::error::{NodeIssue, NodeUnsupported, Result};

/// A constant tensor met during import.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Const {
    /// Floating point data (weights).
    F(ArrayD<f32>),
    /// Integer data (shapes, axes, indices).
    I(ArrayD<i64>),
}

impl Const {
    pub(crate) fn shape(&self) -> &[usize] {
        match self {
            Const::F(a) => a.shape(),
            Const::I(a) => a.shape(),
        }
    }

    pub(crate) fn to_f32(&self) -> ArrayD<f32> {
        match self {
            Const::F(a) => a.clone(),
            Const::I(a) => a.mapv(|v| v as f32),
        }
    }

    /// Integer view; floats must be integral.
    pub(crate) fn to_i64(&self, a: &NodeAttributes) -> Result<ArrayD<i64>> {
        match self {
            Const::I(x) => Ok(x.clone()),
            Const::F(x) => {
                if x.iter().any(|v| v.fract() != 0.0 || !v.is_finite()) {
                    return Err(a.error(NodeIssue::NotIntegral));
                }
                Ok(x.mapv(|v| v as i64))
            }
        }
    }

    fn map_arrays(
        self,
        f: impl Fn(ArrayD<f32>) -> Option<ArrayD<f32>>,
        g: impl Fn(ArrayD<i64>) -> Option<ArrayD<i64>>,
    ) -> Option<Const> {
        match self {
            Const::F(a) => f(a).map(Const::F),
            Const::I(a) => g(a).map(Const::I),
        }
    }
}

/// Normalises a possibly negative axis for a tensor of rank `rank`.
pub(crate) fn axis(a: &NodeAttributes, ax: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let v = if ax < 0 { ax + r } else { ax };
    if v < 0 || v >= r {
        return Err(a.error(NodeIssue::Axis { axis: ax, rank }));
    }
    Ok(v as usize)
}

/// The ops this module can evaluate on constant inputs.
pub(crate) fn is_foldable(op_type: &str) -> bool {
    matches!(
        op_type,
        "Constant"
            | "Slice"
            | "ConstantOfShape"
            | "Identity"
            | "Dropout"
            | "Transpose"
            | "Unsqueeze"
            | "Squeeze"
            | "Reshape"
            | "Gather"
            | "Concat"
            | "Cast"
            | "Add"
            | "Sub"
            | "Mul"
            | "Div"
    )
}

/// Shape after inserting axes `axes` (normalised against the output rank).
pub(crate) fn unsqueezed(a: &NodeAttributes, shape: &[usize], axes: &[i64]) -> Result<Vec<usize>> {
    let out_rank = shape.len() + axes.len();
    let mut norm: Vec<usize> = axes
        .iter()
        .map(|&x| axis(a, x, out_rank))
        .collect::<Result<_>>()?;
    norm.sort_unstable();
    norm.dedup();
    if norm.len() != axes.len() {
        return Err(a.error(NodeIssue::RepeatedAxes {
            axes: axes.to_vec(),
        }));
    }
    let mut it = shape.iter();
    Ok((0..out_rank)
        .map(|i| {
            if norm.contains(&i) {
                1
            } else {
                *it.next().unwrap_or(&1)
            }
        })
        .collect())
}

/// Shape after removing axes `axes` (all size-1 axes when empty).
pub(crate) fn squeezed(a: &NodeAttributes, shape: &[usize], axes: &[i64]) -> Result<Vec<usize>> {
    let norm: Vec<usize> = axes
        .iter()
        .map(|&x| axis(a, x, shape.len()))
        .collect::<Result<_>>()?;
    if let Some(&bad) = norm.iter().find(|&&i| shape[i] != 1) {
        return Err(a.error(NodeIssue::Squeeze {
            axis: bad,
            size: shape[bad],
        }));
    }
    Ok(shape
        .iter()
        .enumerate()
        .filter(|(i, d)| {
            if norm.is_empty() {
                **d != 1
            } else {
                !norm.contains(i)
            }
        })
        .map(|(_, d)| *d)
        .collect())
}

/// The `axes` of Unsqueeze/Squeeze: an attribute before opset 13, the second input after.
pub(crate) fn axes_of(a: &NodeAttributes, inputs: &[Option<&Const>]) -> Result<Vec<i64>> {
    if let Some(ax) = a.get_ints("axes")? {
        return Ok(ax.to_vec());
    }
    match inputs.get(1).copied().flatten() {
        Some(c) => Ok(c.to_i64(a)?.iter().copied().collect()),
        None => Ok(Vec::new()),
    }
}

fn reshape_const(c: Const, shape: &[usize]) -> Option<Const> {
    let s = IxDyn(shape);
    c.map_arrays(
        |x| {
            x.as_standard_layout()
                .into_owned()
                .into_shape_with_order(s.clone())
                .ok()
        },
        |x| {
            x.as_standard_layout()
                .into_owned()
                .into_shape_with_order(s.clone())
                .ok()
        },
    )
}

/// Resolves an ONNX Reshape target (with `0` = copy and `-1` = infer) against `input`.
pub(crate) fn resolve_reshape(
    a: &NodeAttributes,
    input: &[usize],
    target: &[i64],
) -> Result<Vec<usize>> {
    let total = input
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            a.error(NodeIssue::ShapeOverflow {
                shape: input.to_vec(),
            })
        })?;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            0 => out.push(*input.get(i).ok_or_else(|| {
                a.error(NodeIssue::ReshapeCopy {
                    target: target.to_vec(),
                    axis: i,
                })
            })?),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            t if t > 0 => out.push(t as usize),
            _ => {
                return Err(a.error(NodeIssue::ReshapeTarget {
                    target: target.to_vec(),
                }));
            }
        }
    }
    let known = out
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .unwrap_or(0);
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(a.error(NodeIssue::Reshape {
                from: input.to_vec(),
                to: target.to_vec(),
                elements: None,
            }));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(a.error(NodeIssue::Reshape {
            from: input.to_vec(),
            to: target.to_vec(),
            elements: Some(total),
        }));
    }
    Ok(out)
}

/// The numpy broadcast of two shapes, `None` when they do not broadcast.
fn broadcast_shape(s: &[usize], t: &[usize]) -> Option<Vec<usize>> {
    let r = s.len().max(t.len());
    (0..r)
        .map(|i| {
            let d1 = if i + s.len() >= r {
                s[i + s.len() - r]
            } else {
                1
            };
            let d2 = if i + t.len() >= r {
                t[i + t.len() - r]
            } else {
                1
            };
            match (d1, d2) {
                _ if d1 == d2 => Some(d1),
                (1, d) | (d, 1) => Some(d),
                _ => None,
            }
        })
        .collect()
}

/// An error unless `shape` has at most `budget` elements (checked before allocating it).
fn check_budget(
    a: &NodeAttributes,
    what: &'static str,
    shape: &[usize],
    budget: usize,
) -> Result<()> {
    let n = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if n.is_none_or(|n| n > budget) {
        return Err(a.error(NodeIssue::Budget {
            what,
            shape: shape.to_vec(),
            budget,
        }));
    }
    Ok(())
}

fn binary(a: &NodeAttributes, op: &str, x: &Const, y: &Const, budget: usize) -> Result<Const> {
    let shape = broadcast_shape(x.shape(), y.shape()).ok_or_else(|| {
        a.error(NodeIssue::Broadcast {
            first: x.shape().to_vec(),
            second: y.shape().to_vec(),
            to: None,
        })
    })?;
    check_budget(a, "the result", &shape, budget)?;
    let dim = IxDyn(&shape);
    let no_broadcast = || {
        a.error(NodeIssue::Broadcast {
            first: x.shape().to_vec(),
            second: y.shape().to_vec(),
            to: Some(shape.clone()),
        })
    };
    Ok(match (x, y) {
        (Const::I(p), Const::I(q)) => {
            let p = p.broadcast(dim.clone()).ok_or_else(no_broadcast)?;
            let q = q.broadcast(dim.clone()).ok_or_else(no_broadcast)?;
            let f: fn(i64, i64) -> Option<i64> = match op {
                "Add" => i64::checked_add,
                "Sub" => i64::checked_sub,
                "Mul" => i64::checked_mul,
                _ => {
                    if q.iter().any(|&v| v == 0) {
                        return Err(a.error(NodeIssue::DivisionByZero));
                    }
                    // `checked_div` is `None` only for `i64::MIN / -1` here.
                    i64::checked_div
                }
            };
            let mut out = Vec::with_capacity(p.len());
            for (&u, &v) in p.iter().zip(q.iter()) {
                out.push(f(u, v).ok_or_else(|| {
                    a.error(NodeIssue::IntegerOverflow {
                        op: op.to_owned(),
                        lhs: u,
                        rhs: v,
                    })
                })?);
            }
            Const::I(ArrayD::from_shape_vec(dim, out).map_err(|_| no_broadcast())?)
        }
        _ => {
            let (p, q) = (x.to_f32(), y.to_f32());
            Const::F(match op {
                "Add" => &p + &q,
                "Sub" => &p - &q,
                "Mul" => &p * &q,
                _ => &p / &q,
            })
        }
    })
}

/// Evaluates a foldable node on constant inputs; returns its outputs. A result of more than
/// `budget` elements is an error raised before it is allocated.
pub(crate) fn fold(
    a: &NodeAttributes,
    inputs: &[Option<&Const>],
    budget: usize,
) -> Result<Vec<Const>> {
    let need = |i: usize| {
        inputs.get(i).copied().flatten().ok_or_else(|| {
            a.error(NodeIssue::MissingInput {
                index: i,
                what: None,
            })
        })
    };
    let out = match a.op_type() {
        "Constant" => {
            if let Some(t) = a.get_tensor("value")? {
                if t.data_type() == DataType::Int64 as i32
                    || t.data_type() == DataType::Int32 as i32
                {
                    Const::I(tensor_to_i64(t)?)
                } else {
                    Const::F(tensor_to_f32(t)?)
                }
            } else if let Some(v) = a.get_float("value_float")? {
                Const::F(ArrayD::from_elem(IxDyn(&[]), v))
            } else if let Some(v) = a.get_floats("value_floats")? {
                Const::F(ndarray::Array1::from(v.to_vec()).into_dyn())
            } else if let Some(v) = a.get_int("value_int")? {
                Const::I(ArrayD::from_elem(IxDyn(&[]), v))
            } else if let Some(v) = a.get_ints("value_ints")? {
                Const::I(ndarray::Array1::from(v.to_vec()).into_dyn())
            } else {
                return Err(a.error(NodeIssue::NoConstantValue));
            }
        }
        "ConstantOfShape" => {
            let dims: Vec<usize> = need(0)?
                .to_i64(a)?
                .iter()
                .map(|&d| {
                    usize::try_from(d).map_err(|_| a.error(NodeIssue::NegativeDimension { dim: d }))
                })
                .collect::<Result<_>>()?;
            check_budget(a, "the constant", &dims, budget)?;
            match a.get_tensor("value")? {
                Some(t) if t.data_type() == DataType::Int64 as i32 => {
                    let v = tensor_to_i64(t)?.iter().next().copied().unwrap_or(0);
                    Const::I(ArrayD::from_elem(IxDyn(&dims), v))
                }
                Some(t) => {
                    let v = tensor_to_f32(t)?.iter().next().copied().unwrap_or(0.0);
                    Const::F(ArrayD::from_elem(IxDyn(&dims), v))
                }
                None => Const::F(ArrayD::zeros(IxDyn(&dims))),
            }
        }
        "Identity" | "Dropout" => {
            a.get_float("ratio")?;
            a.get_int("is_test")?;
            need(0)?.clone()
        }
        "Transpose" => {
            let x = need(0)?;
            let rank = x.shape().len();
            let perm: Vec<usize> = match a.get_ints("perm")? {
                Some(p) => p.iter().map(|&v| axis(a, v, rank)).collect::<Result<_>>()?,
                None => (0..rank).rev().collect(),
            };
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..rank).collect::<Vec<_>>() {
                return Err(a.error(NodeIssue::Permutation { perm, rank }));
            }
            let p = IxDyn(&perm);
            x.clone()
                .map_arrays(
                    |v| Some(v.permuted_axes(p.clone()).as_standard_layout().into_owned()),
                    |v| Some(v.permuted_axes(p.clone()).as_standard_layout().into_owned()),
                )
                .ok_or_else(|| a.error(NodeIssue::Internal { step: "transpose" }))?
        }
        "Unsqueeze" | "Squeeze" => {
            let x = need(0)?;
            let axes = axes_of(a, inputs)?;
            let shape = if a.op_type() == "Unsqueeze" {
                unsqueezed(a, x.shape(), &axes)?
            } else {
                squeezed(a, x.shape(), &axes)?
            };
            reshape_const(x.clone(), &shape)
                .ok_or_else(|| a.error(NodeIssue::Internal { step: "reshape" }))?
        }
        "Reshape" => {
            let x = need(0)?;
            let target: Vec<i64> = match a.get_ints("shape")? {
                Some(s) => s.to_vec(),
                None => need(1)?.to_i64(a)?.iter().copied().collect(),
            };
            a.get_int("allowzero")?;
            let shape = resolve_reshape(a, x.shape(), &target)?;
            reshape_const(x.clone(), &shape)
                .ok_or_else(|| a.error(NodeIssue::Internal { step: "reshape" }))?
        }
        "Gather" => {
            let (x, idx) = (need(0)?, need(1)?.to_i64(a)?);
            let rank = x.shape().len();
            let ax = axis(a, a.get_int("axis")?.unwrap_or(0), rank)?;
            let len = x.shape()[ax] as i64;
            let mut picks = Vec::new();
            for &i in idx.iter() {
                let j = if i < 0 { i + len } else { i };
                if j < 0 || j >= len {
                    return Err(a.error(NodeIssue::GatherIndex { index: i, len }));
                }
                picks.push(j as usize);
            }
            let mut out_shape: Vec<usize> = x.shape()[..ax].to_vec();
            out_shape.extend_from_slice(idx.shape());
            out_shape.extend_from_slice(&x.shape()[ax + 1..]);
            check_budget(a, "the gathered constant", &out_shape, budget)?;
            let s = IxDyn(&out_shape);
            x.clone()
                .map_arrays(
                    |v| {
                        v.select(Axis(ax), &picks)
                            .into_shape_with_order(s.clone())
                            .ok()
                    },
                    |v| {
                        v.select(Axis(ax), &picks)
                            .into_shape_with_order(s.clone())
                            .ok()
                    },
                )
                .ok_or_else(|| a.error(NodeIssue::Internal { step: "gather" }))?
        }
        "Concat" => {
            let parts: Vec<&Const> = inputs
                .iter()
                .enumerate()
                .map(|(index, c)| {
                    c.ok_or_else(|| a.error(NodeIssue::MissingInput { index, what: None }))
                })
                .collect::<Result<_>>()?;
            let rank = parts.first().map_or(0, |p| p.shape().len());
            let total = parts
                .iter()
                .try_fold(0usize, |acc, p| acc.checked_add(p.shape().iter().product()));
            if total.is_none_or(|n| n > budget) {
                return Err(a.error(NodeIssue::ConcatBudget {
                    parts: parts.len(),
                    budget,
                }));
            }
            let ax = axis(a, a.get_int("axis")?.unwrap_or(0), rank.max(1))?;
            let bad = |source: ndarray::ShapeError| a.error(NodeIssue::Concat { source });
            if parts.iter().all(|p| matches!(p, Const::I(_))) {
                let v: Vec<ArrayD<i64>> =
                    parts.iter().map(|p| p.to_i64(a)).collect::<Result<_>>()?;
                let views: Vec<_> = v.iter().map(|x| x.view()).collect();
                Const::I(ndarray::concatenate(Axis(ax), &views).map_err(bad)?)
            } else {
                let v: Vec<ArrayD<f32>> = parts.iter().map(|p| p.to_f32()).collect();
                let views: Vec<_> = v.iter().map(|x| x.view()).collect();
                Const::F(ndarray::concatenate(Axis(ax), &views).map_err(bad)?)
            }
        }
        "Cast" => {
            let x = need(0)?;
            match a.get_int("to")? {
                Some(t) if t == DataType::Float as i64 || t == DataType::Double as i64 => {
                    Const::F(x.to_f32())
                }
                Some(t) if t == DataType::Int64 as i64 || t == DataType::Int32 as i64 => match x {
                    Const::I(v) => Const::I(v.clone()),
                    Const::F(v) => Const::I(v.mapv(|f| f.trunc() as i64)),
                },
                other => {
                    return Err(a.error(NodeUnsupported::Cast { to: other }));
                }
            }
        }
        op @ ("Add" | "Sub" | "Mul" | "Div") => {
            a.get_int("broadcast")?;
            a.get_int("axis")?;
            binary(a, op, need(0)?, need(1)?, budget)?
        }
        "Slice" => super::fold_slice::fold_slice(a, inputs)?,
        other => {
            return Err(a.error(NodeUnsupported::NotFoldable {
                op: other.to_owned(),
            }));
        }
    };
    Ok(vec![out])
}
