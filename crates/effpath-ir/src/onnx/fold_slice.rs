//! Constant folding of `Slice` (any step sign, ONNX clamping), as legacy PyTorch exports
//! compute `F.pad` widths with a reversing slice of a constant.

use ndarray::{ArrayD, Axis};

use super::attr::NodeAttributes;
use super::fold::{Const, axis};
use crate::error::{NodeIssue, Result};

/// The input indices ONNX `Slice` picks from an axis of length `d`.
pub(crate) fn picks(start: i64, end: i64, step: i64, d: i64) -> Vec<usize> {
    let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, e) = (norm(start).clamp(0, d), norm(end).clamp(0, d));
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else if step < 0 {
        let (mut i, e) = (norm(start).clamp(0, d - 1), norm(end).clamp(-1, d - 1));
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

fn ints(
    a: &NodeAttributes,
    inputs: &[Option<&Const>],
    name: &str,
    i: usize,
) -> Result<Option<Vec<i64>>> {
    if let Some(v) = a.get_ints(name)? {
        return Ok(Some(v.to_vec()));
    }
    match inputs.get(i).copied().flatten() {
        Some(c) => Ok(Some(c.to_i64(a)?.iter().copied().collect())),
        None => Ok(None),
    }
}

/// Folds `Slice` on a constant.
pub(crate) fn fold_slice(a: &NodeAttributes, inputs: &[Option<&Const>]) -> Result<Const> {
    let x = inputs.first().copied().flatten().ok_or_else(|| {
        a.error(NodeIssue::MissingInput {
            index: 0,
            what: None,
        })
    })?;
    let starts = ints(a, inputs, "starts", 1)?
        .ok_or_else(|| a.error(NodeIssue::MissingOperand { what: "starts" }))?;
    let ends = ints(a, inputs, "ends", 2)?
        .ok_or_else(|| a.error(NodeIssue::MissingOperand { what: "ends" }))?;
    let rank = x.shape().len();
    let axes = ints(a, inputs, "axes", 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = ints(a, inputs, "steps", 4)?.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(a.error(NodeIssue::SliceLengths));
    }
    let mut c = x.clone();
    for k in 0..starts.len() {
        let ax = axis(a, axes[k], rank)?;
        if steps[k] == 0 {
            return Err(a.error(NodeIssue::SliceStepZero));
        }
        let d = c.shape()[ax] as i64;
        let p = picks(starts[k], ends[k], steps[k], d);
        c = match c {
            Const::F(v) => Const::F(select(v, ax, &p)),
            Const::I(v) => Const::I(select(v, ax, &p)),
        };
    }
    Ok(c)
}

fn select<T: Clone>(v: ArrayD<T>, ax: usize, p: &[usize]) -> ArrayD<T> {
    v.select(Axis(ax), p)
}

#[cfg(test)]
mod tests {
    use super::picks;

    #[test]
    fn onnx_slice_clamping() {
        assert_eq!(picks(0, i64::MAX, 1, 4), vec![0, 1, 2, 3]);
        assert_eq!(picks(-1, i64::MIN, -1, 4), vec![3, 2, 1, 0]);
        assert_eq!(picks(-2, -5, -2, 4), vec![2, 0]);
        assert_eq!(picks(1, -1, 2, 5), vec![1, 3]);
        assert!(picks(3, 1, 1, 4).is_empty());
    }
}
