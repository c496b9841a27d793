//! Shape inference and parameter validation for every op (per-sample shapes).

use crate::error::{ShapeIssue, UnsupportedIssue};
use crate::op::{Op, Window2d};

/// Why an op cannot be placed on inputs of given shapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OpIssue {
    /// The shapes or parameters are inconsistent.
    Invalid(ShapeIssue),
    /// The op is valid ONNX/PyTorch but effpath does not compute it (e.g. dilation > 1).
    Unsupported(UnsupportedIssue),
}

impl From<ShapeIssue> for OpIssue {
    fn from(issue: ShapeIssue) -> Self {
        OpIssue::Invalid(issue)
    }
}

impl From<UnsupportedIssue> for OpIssue {
    fn from(issue: UnsupportedIssue) -> Self {
        OpIssue::Unsupported(issue)
    }
}

fn invalid<T>(issue: ShapeIssue) -> Result<T, OpIssue> {
    Err(OpIssue::Invalid(issue))
}

fn arity(inputs: &[&[usize]], n: usize) -> Result<(), OpIssue> {
    if inputs.len() != n {
        return invalid(ShapeIssue::Arity {
            expected: n,
            at_least: false,
            got: inputs.len(),
        });
    }
    Ok(())
}

/// Element count of a shape, `None` on overflow.
pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

fn chw(shape: &[usize], op: &'static str) -> Result<[usize; 3], OpIssue> {
    match shape {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => invalid(ShapeIssue::NotChw {
            op,
            got: shape.to_vec(),
        }),
    }
}

/// Output size of a window; pools (`pool = true`) also need every window to touch the input.
fn window_out(win: &Window2d, h: usize, w: usize, pool: bool) -> Result<[usize; 2], OpIssue> {
    if win.stride.contains(&0) || win.kernel.contains(&0) {
        return invalid(ShapeIssue::Window {
            kernel: win.kernel,
            stride: win.stride,
        });
    }
    for a in 0..2 {
        if !pool {
            break;
        }
        if win.pads_begin[a] >= win.kernel[a] || win.pads_end[a] >= win.kernel[a] {
            return invalid(ShapeIssue::PoolPadding {
                begin: win.pads_begin,
                end: win.pads_end,
                kernel: win.kernel,
            });
        }
    }
    win.output_size([h, w]).ok_or_else(|| {
        OpIssue::Invalid(ShapeIssue::WindowTooLarge {
            input: [h, w],
            window: Box::new(win.clone()),
        })
    })
}

fn channel_vec(len: usize, c: usize, what: &'static str) -> Result<(), OpIssue> {
    if len != c {
        return invalid(ShapeIssue::ChannelCount {
            what,
            len,
            channels: c,
        });
    }
    Ok(())
}

/// Output per-sample shape of `op` applied to inputs of the given per-sample shapes.
pub(crate) fn infer(op: &Op, inputs: &[&[usize]]) -> Result<Vec<usize>, OpIssue> {
    match op {
        Op::Dense(d) => {
            arity(inputs, 1)?;
            let (out, inp) = d.weight.dim();
            if inputs[0] != [inp] {
                return invalid(ShapeIssue::DenseInput {
                    weight: [out, inp],
                    got: inputs[0].to_vec(),
                });
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
                return invalid(ShapeIssue::Dilation {
                    dilation: c.dilation,
                });
            }
            if c.groups == 0 || cin % c.groups != 0 || cout % c.groups != 0 {
                return invalid(ShapeIssue::Groups {
                    groups: c.groups,
                    inputs: cin,
                    outputs: cout,
                });
            }
            if cin_g * c.groups != cin {
                return invalid(ShapeIssue::WeightChannels {
                    weight: [cout, cin_g, kh, kw],
                    groups: c.groups,
                    needs: cin_g * c.groups,
                    got: cin,
                });
            }
            if c.window.kernel != [kh, kw] {
                return invalid(ShapeIssue::KernelMismatch {
                    kernel: c.window.kernel,
                    weight: [kh, kw],
                });
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
                return invalid(ShapeIssue::Empty {
                    what: "a non-empty spatial extent",
                });
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
                return invalid(ShapeIssue::Empty {
                    what: "a channel axis",
                });
            }
            if l.size == 0 {
                return invalid(ShapeIssue::Zero { what: "size" });
            }
            Ok(inputs[0].to_vec())
        }
        Op::BatchNorm(b) => {
            arity(inputs, 1)?;
            let Some(&c) = inputs[0].first() else {
                return invalid(ShapeIssue::Empty {
                    what: "a channel axis",
                });
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
            let n = numel(inputs[0]).ok_or(ShapeIssue::Overflow { what: "size" })?;
            Ok(vec![n])
        }
        Op::Reshape(target) => {
            arity(inputs, 1)?;
            if numel(inputs[0]) != numel(target) {
                return invalid(ShapeIssue::Reshape {
                    from: inputs[0].to_vec(),
                    to: target.clone(),
                });
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
                return invalid(ShapeIssue::Permutation {
                    perm: perm.clone(),
                    rank,
                });
            }
            Ok(perm.iter().map(|&p| inputs[0][p]).collect())
        }
        Op::Add => {
            if inputs.len() < 2 {
                return invalid(ShapeIssue::Arity {
                    expected: 2,
                    at_least: true,
                    got: inputs.len(),
                });
            }
            if let Some(other) = inputs.iter().find(|s| **s != inputs[0]) {
                return Err(UnsupportedIssue::Broadcast {
                    first: inputs[0].to_vec(),
                    other: other.to_vec(),
                    ranks_differ: false,
                }
                .into());
            }
            Ok(inputs[0].to_vec())
        }
        Op::Activation(act) => {
            arity(inputs, 1)?;
            act.validate(inputs[0].first().copied())
                .map_err(ShapeIssue::Activation)?;
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
                return invalid(ShapeIssue::Axis {
                    axis: s.axis,
                    shape: shape.to_vec(),
                });
            };
            let last = s
                .len
                .checked_sub(1)
                .and_then(|l| l.checked_mul(s.step))
                .and_then(|l| l.checked_add(s.start));
            if s.step == 0 || last.is_none_or(|l| l >= n) {
                return invalid(ShapeIssue::Slice {
                    start: s.start,
                    step: s.step,
                    len: s.len,
                    axis: s.axis,
                    size: n,
                });
            }
            let mut out = shape.to_vec();
            out[s.axis] = s.len;
            Ok(out)
        }
        Op::Pad(p) => {
            arity(inputs, 1)?;
            let shape = inputs[0];
            if p.begin.len() != shape.len() || p.end.len() != shape.len() {
                return invalid(ShapeIssue::PadRank {
                    begin: p.begin.clone(),
                    end: p.end.clone(),
                    rank: shape.len(),
                });
            }
            if !p.value.is_finite() {
                return invalid(ShapeIssue::NotFinite {
                    what: "padding value",
                    value: p.value,
                });
            }
            shape
                .iter()
                .zip(p.begin.iter().zip(&p.end))
                .map(|(&d, (&b, &e))| d.checked_add(b).and_then(|v| v.checked_add(e)))
                .collect::<Option<Vec<_>>>()
                .ok_or(OpIssue::Invalid(ShapeIssue::Overflow {
                    what: "padded size",
                }))
        }
        Op::Concat(axis) => {
            if inputs.is_empty() {
                return invalid(ShapeIssue::Arity {
                    expected: 1,
                    at_least: true,
                    got: 0,
                });
            }
            let rank = inputs[0].len();
            if *axis >= rank {
                return invalid(ShapeIssue::Axis {
                    axis: *axis,
                    shape: inputs[0].to_vec(),
                });
            }
            let mut out = inputs[0].to_vec();
            out[*axis] = 0;
            for s in inputs {
                let same_rest =
                    s.len() == rank && (0..rank).all(|a| a == *axis || s[a] == inputs[0][a]);
                if !same_rest {
                    return invalid(ShapeIssue::Concat {
                        axis: *axis,
                        got: s.to_vec(),
                        first: inputs[0].to_vec(),
                    });
                }
                out[*axis] += s[*axis];
            }
            Ok(out)
        }
    }
}

/// The NumPy broadcast of two per-sample shapes of the same rank.
pub(crate) fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, OpIssue> {
    if a.len() != b.len() {
        return Err(UnsupportedIssue::Broadcast {
            first: a.to_vec(),
            other: b.to_vec(),
            ranks_differ: true,
        }
        .into());
    }
    a.iter()
        .zip(b)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Ok(x),
            (1, d) | (d, 1) => Ok(d),
            _ => invalid(ShapeIssue::Broadcast {
                a: a.to_vec(),
                b: b.to_vec(),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{AvgPool2d, Conv2d, Dense};
    use ndarray::{Array1, Array2, Array4};

    #[test]
    fn issues_hold_the_values_and_say_them() {
        let d = Op::Dense(Dense {
            weight: Array2::zeros((3, 4)),
            bias: None,
        });
        let got = infer(&d, &[&[5]]);
        assert_eq!(
            got,
            Err(OpIssue::Invalid(ShapeIssue::DenseInput {
                weight: [3, 4],
                got: vec![5],
            }))
        );
        let msg = |r: Result<Vec<usize>, OpIssue>| match r {
            Err(OpIssue::Invalid(i)) => i.to_string(),
            Err(OpIssue::Unsupported(i)) => format!("unsupported: {i}"),
            Ok(s) => panic!("accepted: {s:?}"),
        };
        assert_eq!(
            msg(infer(&d, &[&[5]])),
            "weight [3, 4] needs a flat input of 4, got [5]"
        );
        assert_eq!(msg(infer(&d, &[])), "expects 1 input(s), got 0");
        assert_eq!(
            msg(infer(&Op::Add, &[&[2]])),
            "expects at least 2 input(s), got 1"
        );
        assert_eq!(
            msg(infer(&Op::Add, &[&[2], &[3]])),
            "unsupported: broadcasting between [2] and [3] (inputs must have identical shapes)"
        );
        assert_eq!(
            msg(broadcast(&[2, 3], &[3])),
            "unsupported: broadcasting between [2, 3] and [3] (per-sample ranks differ: both inputs need a batch axis and the same rank)"
        );
        assert_eq!(
            msg(broadcast(&[2, 3], &[3, 3])),
            "shapes [2, 3] and [3, 3] do not broadcast"
        );
        assert_eq!(
            msg(infer(&Op::Concat(2), &[&[1, 2]])),
            "axis 2 out of range for [1, 2]"
        );
        assert_eq!(
            msg(infer(&Op::Reshape(vec![5]), &[&[2, 2]])),
            "cannot reshape [2, 2] to [5]"
        );
        let prelu = Op::Activation(crate::Activation::Prelu(Array1::from(vec![0.1, 0.2])));
        assert_eq!(
            msg(infer(&prelu, &[&[3, 4]])),
            "2 slopes for 3 channels (need 1 or one per channel)"
        );
        let gp = infer(&Op::GlobalAvgPool, &[&[2]]);
        assert_eq!(msg(gp), "GlobalAvgPool needs a (C, H, W) input, got [2]");
    }

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
            Err(OpIssue::Invalid(_))
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
            Err(OpIssue::Unsupported(_))
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
