//! Shape inference and parameter validation for every op (per-sample shapes).

use crate::op::{Op, Window2d};

/// Why an op cannot be placed on inputs of given shapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ShapeIssue {
    /// The shapes or parameters are inconsistent.
    Invalid(String),
    /// The op is valid ONNX/PyTorch but effpath does not compute it (e.g. dilation > 1).
    Unsupported(String),
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, ShapeIssue> {
    Err(ShapeIssue::Invalid(msg.into()))
}

fn arity(inputs: &[&[usize]], n: usize) -> Result<(), ShapeIssue> {
    if inputs.len() != n {
        return invalid(format!("expects {n} input(s), got {}", inputs.len()));
    }
    Ok(())
}

/// Element count of a shape, `None` on overflow.
pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

fn chw(shape: &[usize], what: &str) -> Result<[usize; 3], ShapeIssue> {
    match shape {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => invalid(format!("{what} needs a (C, H, W) input, got {shape:?}")),
    }
}

/// Output size of a window; pools (`pool = true`) also need every window to touch the input.
fn window_out(win: &Window2d, h: usize, w: usize, pool: bool) -> Result<[usize; 2], ShapeIssue> {
    if win.stride.contains(&0) || win.kernel.contains(&0) {
        return invalid(format!(
            "kernel {:?} and stride {:?} must be ≥ 1",
            win.kernel, win.stride
        ));
    }
    for a in 0..2 {
        if !pool {
            break;
        }
        if win.pads_begin[a] >= win.kernel[a] || win.pads_end[a] >= win.kernel[a] {
            return invalid(format!(
                "padding {:?}/{:?} must be smaller than the kernel {:?}",
                win.pads_begin, win.pads_end, win.kernel
            ));
        }
    }
    win.output_size([h, w]).ok_or_else(|| {
        ShapeIssue::Invalid(format!(
            "input {h}×{w} with padding {:?}/{:?} is smaller than the kernel {:?}",
            win.pads_begin, win.pads_end, win.kernel
        ))
    })
}

fn channel_vec(len: usize, c: usize, what: &str) -> Result<(), ShapeIssue> {
    if len != c {
        return invalid(format!("{what} has {len} entries for {c} channels"));
    }
    Ok(())
}

/// Output per-sample shape of `op` applied to inputs of the given per-sample shapes.
pub(crate) fn infer(op: &Op, inputs: &[&[usize]]) -> Result<Vec<usize>, ShapeIssue> {
    match op {
        Op::Dense(d) => {
            arity(inputs, 1)?;
            let (out, inp) = d.weight.dim();
            if inputs[0] != [inp] {
                return invalid(format!(
                    "weight ({out}, {inp}) needs a flat input of {inp}, got {:?}",
                    inputs[0]
                ));
            }
            if let Some(b) = &d.bias {
                channel_vec(b.len(), out, "bias")?;
            }
            Ok(vec![out])
        }
        Op::Conv2d(c) => {
            arity(inputs, 1)?;
            let [cin, h, w] = chw(inputs[0], "Conv2d")?;
            let (cout, cin_g, kh, kw) = c.weight.dim();
            if c.dilation.contains(&0) {
                return invalid(format!("dilation {:?} must be ≥ 1", c.dilation));
            }
            if c.groups == 0 || cin % c.groups != 0 || cout % c.groups != 0 {
                return invalid(format!(
                    "groups {} must divide input channels {cin} and output channels {cout}",
                    c.groups
                ));
            }
            if cin_g * c.groups != cin {
                return invalid(format!(
                    "weight ({cout}, {cin_g}, {kh}, {kw}) with {} group(s) needs {} input channels, got {cin}",
                    c.groups,
                    cin_g * c.groups
                ));
            }
            if c.window.kernel != [kh, kw] {
                return invalid(format!(
                    "window kernel {:?} differs from the weight's ({kh}, {kw})",
                    c.window.kernel
                ));
            }
            if let Some(b) = &c.bias {
                channel_vec(b.len(), cout, "bias")?;
            }
            let [oh, ow] = window_out(&c.dilated_window(), h, w, false)?;
            Ok(vec![cout, oh, ow])
        }
        Op::MaxPool2d(win) | Op::AvgPool2d(crate::op::AvgPool2d { window: win, .. }) => {
            arity(inputs, 1)?;
            let [c, h, w] = chw(inputs[0], op.kind())?;
            let [oh, ow] = window_out(win, h, w, true)?;
            Ok(vec![c, oh, ow])
        }
        Op::GlobalAvgPool => {
            arity(inputs, 1)?;
            let [c, h, w] = chw(inputs[0], "GlobalAvgPool")?;
            if h == 0 || w == 0 {
                return invalid("empty spatial extent");
            }
            Ok(vec![c, 1, 1])
        }
        Op::Relu | Op::Softmax | Op::LogSoftmax => {
            arity(inputs, 1)?;
            Ok(inputs[0].to_vec())
        }
        Op::Lrn(l) => {
            arity(inputs, 1)?;
            if inputs[0].is_empty() {
                return invalid("needs a channel axis");
            }
            if l.size == 0 {
                return invalid("size must be ≥ 1");
            }
            Ok(inputs[0].to_vec())
        }
        Op::BatchNorm(b) => {
            arity(inputs, 1)?;
            let Some(&c) = inputs[0].first() else {
                return invalid("needs a channel axis");
            };
            for (v, name) in [
                (&b.gamma, "gamma"),
                (&b.beta, "beta"),
                (&b.mean, "mean"),
                (&b.var, "var"),
            ] {
                channel_vec(v.len(), c, name)?;
            }
            Ok(inputs[0].to_vec())
        }
        Op::Flatten => {
            arity(inputs, 1)?;
            let n = numel(inputs[0]).ok_or_else(|| ShapeIssue::Invalid("size overflows".into()))?;
            Ok(vec![n])
        }
        Op::Reshape(target) => {
            arity(inputs, 1)?;
            if numel(inputs[0]) != numel(target) {
                return invalid(format!("cannot reshape {:?} to {target:?}", inputs[0]));
            }
            Ok(target.clone())
        }
        Op::Transpose(perm) => {
            arity(inputs, 1)?;
            let rank = inputs[0].len();
            let mut seen = vec![false; rank];
            if perm.len() != rank
                || perm
                    .iter()
                    .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
            {
                return invalid(format!("{perm:?} is not a permutation of {rank} axes"));
            }
            Ok(perm.iter().map(|&p| inputs[0][p]).collect())
        }
        Op::Add => {
            if inputs.len() < 2 {
                return invalid(format!("expects at least 2 inputs, got {}", inputs.len()));
            }
            if let Some(other) = inputs.iter().find(|s| **s != inputs[0]) {
                return Err(ShapeIssue::Unsupported(format!(
                    "broadcasting between {:?} and {other:?} (inputs must have identical shapes)",
                    inputs[0]
                )));
            }
            Ok(inputs[0].to_vec())
        }
        Op::Activation(act) => {
            arity(inputs, 1)?;
            act.validate(inputs[0].first().copied())
                .map_err(ShapeIssue::Invalid)?;
            Ok(inputs[0].to_vec())
        }
        Op::Binary(_) => {
            arity(inputs, 2)?;
            broadcast(inputs[0], inputs[1])
        }
        Op::Slice(s) => {
            arity(inputs, 1)?;
            let shape = inputs[0];
            let Some(&n) = shape.get(s.axis) else {
                return invalid(format!("axis {} out of range for {shape:?}", s.axis));
            };
            let last = s
                .len
                .checked_sub(1)
                .and_then(|l| l.checked_mul(s.step))
                .and_then(|l| l.checked_add(s.start));
            if s.step == 0 || last.is_none_or(|l| l >= n) {
                return invalid(format!(
                    "slice start {} step {} len {} does not fit axis {} of size {n}",
                    s.start, s.step, s.len, s.axis
                ));
            }
            let mut out = shape.to_vec();
            out[s.axis] = s.len;
            Ok(out)
        }
        Op::Pad(p) => {
            arity(inputs, 1)?;
            let shape = inputs[0];
            if p.begin.len() != shape.len() || p.end.len() != shape.len() {
                return invalid(format!(
                    "pads {:?}/{:?} for a rank-{} input",
                    p.begin,
                    p.end,
                    shape.len()
                ));
            }
            if !p.value.is_finite() {
                return invalid(format!("padding value {} is not finite", p.value));
            }
            shape
                .iter()
                .zip(p.begin.iter().zip(&p.end))
                .map(|(&d, (&b, &e))| d.checked_add(b).and_then(|v| v.checked_add(e)))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ShapeIssue::Invalid("padded size overflows".into()))
        }
        Op::Concat(axis) => {
            if inputs.is_empty() {
                return invalid("expects at least one input");
            }
            let rank = inputs[0].len();
            if *axis >= rank {
                return invalid(format!("axis {axis} out of range for rank {rank}"));
            }
            let mut out = inputs[0].to_vec();
            out[*axis] = 0;
            for s in inputs {
                let same_rest =
                    s.len() == rank && (0..rank).all(|a| a == *axis || s[a] == inputs[0][a]);
                if !same_rest {
                    return invalid(format!(
                        "input {s:?} does not match {:?} off axis {axis}",
                        inputs[0]
                    ));
                }
                out[*axis] += s[*axis];
            }
            Ok(out)
        }
    }
}

/// The NumPy broadcast of two per-sample shapes of the same rank.
pub(crate) fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ShapeIssue> {
    if a.len() != b.len() {
        return Err(ShapeIssue::Unsupported(format!(
            "broadcasting between {a:?} and {b:?} (per-sample ranks differ: both inputs need a batch axis and the same rank)"
        )));
    }
    a.iter()
        .zip(b)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Ok(x),
            (1, d) | (d, 1) => Ok(d),
            _ => invalid(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{AvgPool2d, Conv2d, Dense};
    use ndarray::{Array1, Array2, Array4};

    #[test]
    fn conv_shapes_with_groups_stride_padding() {
        let conv = Conv2d::new(Array4::zeros((8, 2, 3, 3)), None)
            .with_groups(2)
            .with_stride([2, 2])
            .with_padding(1);
        assert_eq!(
            infer(&Op::Conv2d(conv.clone()), &[&[4, 7, 7]]),
            Ok(vec![8, 4, 4])
        );
        assert!(matches!(
            infer(&Op::Conv2d(conv), &[&[3, 7, 7]]),
            Err(ShapeIssue::Invalid(_))
        ));
    }

    #[test]
    fn dilation_widens_the_window_and_same_shape_add_does_not_broadcast() {
        let conv = Conv2d::new(Array4::zeros((1, 1, 3, 3)), None).with_dilation([2, 3]);
        // Effective kernel 5×7 on 9×9.
        assert_eq!(infer(&Op::Conv2d(conv), &[&[1, 9, 9]]), Ok(vec![1, 5, 3]));
        assert_eq!(
            infer(
                &Op::Binary(crate::op::Binary::Mul),
                &[&[3, 1, 1], &[3, 4, 4]]
            ),
            Ok(vec![3, 4, 4])
        );
        assert!(infer(&Op::Binary(crate::op::Binary::Mul), &[&[3, 2], &[3, 4, 4]]).is_err());
        assert!(infer(&Op::Binary(crate::op::Binary::Add), &[&[3, 2], &[3, 3]]).is_err());
        assert!(matches!(
            infer(&Op::Add, &[&[3, 2], &[2]]),
            Err(ShapeIssue::Unsupported(_))
        ));
    }

    #[test]
    fn dense_checks_input_and_bias() {
        let d = Dense {
            weight: Array2::zeros((3, 4)),
            bias: Some(Array1::zeros(2)),
        };
        assert!(infer(&Op::Dense(d), &[&[4]]).is_err());
        let d = Dense {
            weight: Array2::zeros((3, 4)),
            bias: None,
        };
        assert_eq!(infer(&Op::Dense(d.clone()), &[&[4]]), Ok(vec![3]));
        assert!(infer(&Op::Dense(d), &[&[2, 2]]).is_err());
    }

    #[test]
    fn pools_concat_transpose() {
        let w = Window2d::new([2, 2], [2, 2]);
        assert_eq!(
            infer(&Op::MaxPool2d(w.clone()), &[&[6, 24, 24]]),
            Ok(vec![6, 12, 12])
        );
        let a = Op::AvgPool2d(AvgPool2d {
            window: Window2d::new([3, 3], [1, 1]).with_padding(1),
            count_include_pad: false,
        });
        assert_eq!(infer(&a, &[&[2, 5, 5]]), Ok(vec![2, 5, 5]));
        assert_eq!(
            infer(&Op::Concat(0), &[&[2, 5, 5], &[3, 5, 5]]),
            Ok(vec![5, 5, 5])
        );
        assert!(infer(&Op::Concat(0), &[&[2, 5, 5], &[3, 4, 5]]).is_err());
        assert_eq!(
            infer(&Op::Transpose(vec![1, 0, 2]), &[&[2, 3, 4]]),
            Ok(vec![3, 2, 4])
        );
        assert!(infer(&Op::Transpose(vec![1, 1, 2]), &[&[2, 3, 4]]).is_err());
        assert!(infer(&Op::MaxPool2d(Window2d::new([5, 5], [1, 1])), &[&[1, 3, 3]]).is_err());
    }
}
