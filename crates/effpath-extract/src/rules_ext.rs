//! Backward rules of the ops PyTorch exports beyond the classic CNN set (decisions 18–23 in
//! `docs/decisions.md`): broadcasting binary ops, Slice, Pad and dilated convolutions. The
//! element-wise activations pass points through in [`super::Rule::trace`], as ReLU does.

use effpath_ir::{Binary, Conv2d, Pad, Slice};

use super::{ConvGeometry, Job, LayerPicks, Rule, Scratch, for_points};
use crate::state::State;

/// Row-major strides of a shape.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// The flat index into an input of shape `input` (same rank as `out`, axes of size 1
/// broadcast) read by flat output index `j`.
pub(super) fn broadcast_index(j: usize, out: &[usize], input: &[usize]) -> usize {
    let st = strides(input);
    let (mut rest, mut i) = (j, 0);
    for a in (0..out.len()).rev() {
        let o = rest % out[a];
        rest /= out[a];
        if input[a] != 1 {
            i += o * st[a];
        }
    }
    i
}

impl Rule {
    /// Binary ops of two computed tensors.
    ///
    /// * `Add`/`Sub`: the summands `a`, `b` (for `Sub`, `−b`) at the broadcast-mapped
    ///   indices are the candidates of a θ-selection, exactly as [`effpath_ir::Op::Add`]
    ///   (the larger summand with θ ≤ 0.5); the selected input keeps its mapped point.
    /// * `Mul`/`Div`: a product is not a sum of contributions, so there is nothing to
    ///   select: both factors are kept at their mapped indices (the gated neuron and its
    ///   gate — a squeeze-excitation gate channel is kept once for every kept neuron it
    ///   scales), flips passed through.
    pub(super) fn binary(&self, op: Binary, job: &Job, state: &mut State) {
        let (ia, ib) = (job.node.inputs[0].0, job.node.inputs[1].0);
        let (sa, sb) = (job.in_shapes[0], job.in_shapes[1]);
        match op {
            Binary::Add | Binary::Sub => {
                let neg = if op == Binary::Sub { -1.0 } else { 1.0 };
                let mut s = Scratch::default();
                for &j in job.points {
                    let (ja, jb) = (
                        broadcast_index(j as usize, job.out_shape, sa),
                        broadcast_index(j as usize, job.out_shape, sb),
                    );
                    let sgn = Rule::sign(job, j);
                    s.cand.clear();
                    s.cand.push(job.xs[0][ja] as f64 * sgn);
                    s.cand.push(job.xs[1][jb] as f64 * neg * sgn);
                    let flip = self.select(job, j, &mut s);
                    for &k in &s.picked {
                        if k == 0 {
                            state.add(ia, ja as u32, flip);
                        } else {
                            state.add(ib, jb as u32, flip);
                        }
                    }
                }
            }
            Binary::Mul | Binary::Div => {
                for &j in job.points {
                    let f = job.flip(j);
                    state.add(ia, broadcast_index(j as usize, job.out_shape, sa) as u32, f);
                    state.add(ib, broadcast_index(j as usize, job.out_shape, sb) as u32, f);
                }
            }
        }
    }

    /// Dilated convolution: the candidates of output `(oc, oy, ox)` are the products over
    /// the in-image taps of the dilated window, in the canonical order `(ic, ki, kj)`; the
    /// synapse and weight indices use the true kernel offsets `(ki, kj)` and the input
    /// point is `(oy·sh − top + ki·dh, ox·sw − left + kj·dw)`.
    pub(super) fn dilated_conv(
        &self,
        c: &Conv2d,
        job: &Job,
        input: usize,
        state: &mut State,
        out: &mut LayerPicks,
    ) {
        let (cout, cin_g, kh, kw) = c.weight.dim();
        let (h, w) = (job.in_shapes[0][1], job.in_shapes[0][2]);
        let (oh, ow) = (job.out_shape[1], job.out_shape[2]);
        let cout_g = cout / c.groups;
        let geom = ConvGeometry::new(c, [h, w], [oh, ow]);
        let x = job.xs[0];
        let weight = c.weight.as_standard_layout();
        let wt = weight.as_slice().expect("standard layout");
        let win = &c.window;
        let [dh, dw] = c.dilation;
        let tap = |o: usize, k: usize, axis: usize, d: usize, len: usize| -> Option<usize> {
            let i = (o * win.stride[axis] + k * d).checked_sub(win.pads_begin[axis])?;
            (i < len).then_some(i)
        };
        for_points(job.points, input, state, out, |j, s, p| {
            let (oc, oy, ox) = (
                j as usize / (oh * ow),
                j as usize / ow % oh,
                j as usize % ow,
            );
            let g = oc / cout_g;
            let rows: Vec<(usize, usize)> = (0..kh)
                .filter_map(|ki| tap(oy, ki, 0, dh, h).map(|iy| (ki, iy)))
                .collect();
            let cols: Vec<(usize, usize)> = (0..kw)
                .filter_map(|kj| tap(ox, kj, 1, dw, w).map(|ix| (kj, ix)))
                .collect();
            let sgn = Rule::sign(job, j);
            s.cand.clear();
            for ic in 0..cin_g {
                let plane = (g * cin_g + ic) * h * w;
                for &(ki, iy) in &rows {
                    for &(kj, ix) in &cols {
                        let wv = wt[((oc * cin_g + ic) * kh + ki) * kw + kj];
                        s.cand.push(wv as f64 * x[plane + iy * w + ix] as f64 * sgn);
                    }
                }
            }
            let flip = self.select(job, j, s);
            let (nr, nc) = (rows.len(), cols.len());
            for &k in &s.picked {
                let k = k as usize;
                let (ic, (ki, iy), (kj, ix)) = (k / (nr * nc), rows[k / nc % nr], cols[k % nc]);
                p.keep_conv(&geom, [oc, oy, ox], [ic, ki, kj], [iy, ix], flip);
            }
        });
    }
}

/// Slice: output point `o` along the axis maps to input `start + o·step`; flips copy.
pub(super) fn slice(s: &Slice, job: &Job, state: &mut State) {
    let (ins, outs) = (job.in_shapes[0], job.out_shape);
    let st = strides(ins);
    for &j in job.points {
        let (mut rest, mut i) = (j as usize, 0);
        for a in (0..outs.len()).rev() {
            let mut o = rest % outs[a];
            rest /= outs[a];
            if a == s.axis {
                o = s.start + o * s.step;
            }
            i += o * st[a];
        }
        state.add(job.node.inputs[0].0, i as u32, job.flip(j));
    }
}

/// Pad: the leading padding is subtracted; points in the padding are dropped (spec §1.4.8).
pub(super) fn pad(p: &Pad, job: &Job, state: &mut State) {
    let (ins, outs) = (job.in_shapes[0], job.out_shape);
    let st = strides(ins);
    'points: for &j in job.points {
        let (mut rest, mut i) = (j as usize, 0);
        for a in (0..outs.len()).rev() {
            let o = rest % outs[a];
            rest /= outs[a];
            match o.checked_sub(p.begin[a]) {
                Some(v) if v < ins[a] => i += v * st[a],
                _ => continue 'points,
            }
        }
        state.add(job.node.inputs[0].0, i as u32, job.flip(j));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_indices_map_to_the_size_one_axes() {
        // (2, 3, 2) output, gate (2, 1, 1): output (1, 2, 1) = flat 11 reads gate 1.
        assert_eq!(broadcast_index(11, &[2, 3, 2], &[2, 1, 1]), 1);
        assert_eq!(broadcast_index(11, &[2, 3, 2], &[2, 3, 2]), 11);
        // Row vector (1, 3) against (2, 3): flat 4 = (1, 1) reads 1.
        assert_eq!(broadcast_index(4, &[2, 3], &[1, 3]), 1);
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
    }
}
