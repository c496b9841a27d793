//! Per-op backward rules (spec §1.4): from the kept points of an op's output to kept points of
//! its inputs, plus the synapses and weights of traced layers.

use effpath_ir::{Conv2d, Dense, Network, Node, Op, Window2d};

use crate::select::{ThresholdBase, arg_approx};

/// A set of flat indices with O(1) membership, kept in insertion order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Points {
    mark: Vec<u64>,
    pub(crate) list: Vec<u32>,
}

impl Points {
    fn new(n: usize) -> Self {
        Points {
            mark: vec![0; n.div_ceil(64)],
            list: Vec::new(),
        }
    }

    /// Inserts `i`; returns whether it was new.
    pub(crate) fn insert(&mut self, i: u32) -> bool {
        let (w, b) = (i as usize / 64, i % 64);
        let new = self.mark[w] & (1 << b) == 0;
        if new {
            self.mark[w] |= 1 << b;
            self.list.push(i);
        }
        new
    }
}

/// Working state of one per-image extraction: kept points and flip signs per value.
pub(crate) struct State {
    pub(crate) points: Vec<Option<Points>>,
    flips: Vec<Option<Vec<i8>>>,
    numel: Vec<usize>,
    /// Points that received contradicting flip signs from two readers (reset to +1).
    pub(crate) conflicts: usize,
}

impl State {
    pub(crate) fn new(net: &Network) -> Self {
        let numel: Vec<usize> = net.shapes().iter().map(|s| s.iter().product()).collect();
        let n = numel.len();
        State {
            points: vec![None; n],
            flips: vec![None; n],
            numel,
            conflicts: 0,
        }
    }

    /// Keeps point `i` of value `v` with flip sign `flip` (±1).
    pub(crate) fn add(&mut self, v: usize, i: u32, flip: i8) {
        let numel = self.numel[v];
        let new = self.points[v]
            .get_or_insert_with(|| Points::new(numel))
            .insert(i);
        if flip == 1 && self.flips[v].is_none() {
            return;
        }
        let f = self.flips[v].get_or_insert_with(|| vec![1; numel]);
        if new {
            f[i as usize] = flip;
        } else if f[i as usize] != flip {
            f[i as usize] = 1;
            self.conflicts += 1;
        }
    }

    /// Takes the final points and flips of value `v` (all its readers have been processed).
    pub(crate) fn take(&mut self, v: usize) -> Option<(Points, Option<Vec<i8>>)> {
        self.points[v].take().map(|p| (p, self.flips[v].take()))
    }
}

/// Selection settings shared by every rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) theta: f64,
    pub(crate) base: ThresholdBase,
}

/// Scratch buffers reused across neurons.
#[derive(Default)]
pub(crate) struct Scratch {
    cand: Vec<f64>,
    order: Vec<u32>,
    picked: Vec<u32>,
    /// Synapse and weight indices of the traced layer being processed.
    pub(crate) synapses: Vec<usize>,
    pub(crate) weights: Vec<usize>,
}

/// The output points of one node being traced back, with what the rules read.
pub(crate) struct Job<'a> {
    pub(crate) node: &'a Node,
    /// Per-sample slices of the node's inputs.
    pub(crate) xs: Vec<&'a [f32]>,
    /// Per-sample slice of the node's output.
    pub(crate) y: &'a [f32],
    pub(crate) in_shapes: Vec<&'a [usize]>,
    pub(crate) out_shape: &'a [usize],
    pub(crate) points: &'a [u32],
    pub(crate) flips: Option<&'a [i8]>,
}

impl Job<'_> {
    fn flip(&self, j: u32) -> i8 {
        self.flips.map_or(1, |f| f[j as usize])
    }
}

impl Rule {
    /// Sign-adjusts `s.cand` for output `j`, selects, and returns the flip for the inputs.
    fn select(&self, job: &Job, j: u32, s: &mut Scratch) -> i8 {
        let out_flip = job.flip(j);
        let eff = job.y[j as usize] as f64 * out_flip as f64;
        if eff < 0.0 {
            s.cand.iter_mut().for_each(|c| *c = -*c);
        }
        s.picked.clear();
        arg_approx(
            &s.cand,
            self.theta,
            self.base,
            eff.abs(),
            &mut s.order,
            &mut s.picked,
        );
        let max = s.cand.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if out_flip == -1 && max < 0.0 { -1 } else { 1 }
    }

    /// Runs the rule of `job.node`, adding input points to `state` and, for traced layers,
    /// synapse and weight indices to `s`.
    pub(crate) fn trace(&self, job: &Job, state: &mut State, s: &mut Scratch) {
        let inputs = &job.node.inputs;
        let single = inputs[0].0;
        match &job.node.op {
            Op::Dense(d) => self.dense(d, job, single, state, s),
            Op::Conv2d(c) => self.conv(c, job, single, state, s),
            Op::MaxPool2d(w) => max_pool(w, job, single, state, s),
            Op::AvgPool2d(a) => self.avg_pool(&a.window, job, single, state, s),
            Op::GlobalAvgPool => {
                let hw = job.in_shapes[0][1] * job.in_shapes[0][2];
                for &j in job.points {
                    let base = j as usize * hw;
                    s.cand.clear();
                    s.cand
                        .extend(job.xs[0][base..base + hw].iter().map(|&v| v as f64));
                    let flip = self.select(job, j, s);
                    for &p in &s.picked {
                        let i = base + p as usize;
                        s.synapses.push(i);
                        state.add(single, i as u32, flip);
                    }
                }
            }
            Op::Relu | Op::Lrn(_) | Op::Flatten | Op::Reshape(_) => {
                for &j in job.points {
                    state.add(single, j, job.flip(j));
                }
            }
            Op::BatchNorm(bn) => {
                // flip = sign(x)·sign(y)·sign(scale_c): upstream, "y·flip < 0" then means
                // "the post-BN value, seen through the BN scale, is negative", so selection
                // ranks contributions to the post-BN value (spec §1.4.9 plus the scale sign;
                // identical to the original when the scale is positive).
                let sgn = |v: f32| if v < 0.0 { -1i8 } else { 1 };
                let inner: usize = job.out_shape[1..].iter().product();
                for &j in job.points {
                    let c = j as usize / inner.max(1);
                    let f = job.flip(j)
                        * sgn(job.xs[0][j as usize])
                        * sgn(job.y[j as usize])
                        * sgn(bn.gamma[c]);
                    state.add(single, j, f);
                }
            }
            Op::Add => {
                for &j in job.points {
                    s.cand.clear();
                    s.cand.extend(job.xs.iter().map(|x| x[j as usize] as f64));
                    let flip = self.select(job, j, s);
                    for &k in &s.picked {
                        state.add(inputs[k as usize].0, j, flip);
                    }
                }
            }
            Op::Transpose(perm) => {
                let ins = job.in_shapes[0];
                let mut in_strides = vec![1usize; ins.len()];
                for a in (0..ins.len().saturating_sub(1)).rev() {
                    in_strides[a] = in_strides[a + 1] * ins[a + 1];
                }
                for &j in job.points {
                    let (mut rest, mut i) = (j as usize, 0);
                    for a in (0..job.out_shape.len()).rev() {
                        i += (rest % job.out_shape[a]) * in_strides[perm[a]];
                        rest /= job.out_shape[a];
                    }
                    state.add(single, i as u32, job.flip(j));
                }
            }
            Op::Concat(axis) => {
                let inner: usize = job.out_shape[axis + 1..].iter().product();
                let total = job.out_shape[*axis];
                for &j in job.points {
                    let (outer, a, r) = (
                        j as usize / (total * inner),
                        j as usize / inner % total,
                        j as usize % inner,
                    );
                    let mut off = 0;
                    for (k, shape) in job.in_shapes.iter().enumerate() {
                        let len = shape[*axis];
                        if a < off + len {
                            let i = (outer * len + (a - off)) * inner + r;
                            state.add(inputs[k].0, i as u32, job.flip(j));
                            break;
                        }
                        off += len;
                    }
                }
            }
            Op::Softmax | Op::LogSoftmax => {}
        }
    }

    fn dense(&self, d: &Dense, job: &Job, input: usize, state: &mut State, s: &mut Scratch) {
        let (n_out, n_in) = d.weight.dim();
        let x = job.xs[0];
        for &j in job.points {
            let row = d.weight.row(j as usize);
            s.cand.clear();
            s.cand
                .extend(row.iter().zip(x).map(|(&w, &v)| w as f64 * v as f64));
            let flip = self.select(job, j, s);
            for &i in &s.picked {
                s.synapses.push(i as usize * n_out + j as usize);
                s.weights.push(j as usize * n_in + i as usize);
                state.add(input, i, flip);
            }
        }
    }

    fn conv(&self, c: &Conv2d, job: &Job, input: usize, state: &mut State, s: &mut Scratch) {
        let (cout, cin_g, kh, kw) = c.weight.dim();
        let [_, h, w] = [
            job.in_shapes[0][0],
            job.in_shapes[0][1],
            job.in_shapes[0][2],
        ];
        let (oh, ow) = (job.out_shape[1], job.out_shape[2]);
        let cout_g = cout / c.groups;
        let x = job.xs[0];
        let wt = c.weight.as_slice();
        let win = &c.window;
        for &j in job.points {
            let (oc, oy, ox) = (
                j as usize / (oh * ow),
                j as usize / ow % oh,
                j as usize % ow,
            );
            let g = oc / cout_g;
            let (rows, cols) = (win.input_range(0, oy, h), win.input_range(1, ox, w));
            s.cand.clear();
            for ic in 0..cin_g {
                let plane = (g * cin_g + ic) * h * w;
                for iy in rows.clone() {
                    let ki = win.kernel_offset(0, oy, iy);
                    for ix in cols.clone() {
                        let kj = win.kernel_offset(1, ox, ix);
                        let wv = match wt {
                            Some(wt) => wt[((oc * cin_g + ic) * kh + ki) * kw + kj],
                            None => c.weight[[oc, ic, ki, kj]],
                        };
                        s.cand.push(wv as f64 * x[plane + iy * w + ix] as f64);
                    }
                }
            }
            let flip = self.select(job, j, s);
            let (nr, nc) = (rows.len(), cols.len());
            for &p in &s.picked {
                let p = p as usize;
                let (ic, iy, ix) = (p / (nr * nc), rows.start + p / nc % nr, cols.start + p % nc);
                let (ki, kj) = (win.kernel_offset(0, oy, iy), win.kernel_offset(1, ox, ix));
                s.synapses
                    .push(((((ic * kh + ki) * kw + kj) * cout + oc) * oh + oy) * ow + ox);
                s.weights.push(((oc * cin_g + ic) * kh + ki) * kw + kj);
                state.add(input, ((g * cin_g + ic) * h * w + iy * w + ix) as u32, flip);
            }
        }
    }

    fn avg_pool(
        &self,
        win: &Window2d,
        job: &Job,
        input: usize,
        state: &mut State,
        s: &mut Scratch,
    ) {
        for_windows(win, job, |j, c, (oy, ox), rows, cols, plane| {
            s.cand.clear();
            for iy in rows.clone() {
                s.cand.extend(
                    job.xs[0][plane + iy * job.in_shapes[0][2]..][cols.clone()]
                        .iter()
                        .map(|&v| v as f64),
                );
            }
            let flip = self.select(job, j, s);
            let nc = cols.len();
            for &p in &s.picked {
                let (iy, ix) = (rows.start + p as usize / nc, cols.start + p as usize % nc);
                s.synapses
                    .push(pool_synapse(win, job.out_shape, c, oy, ox, iy, ix));
                state.add(input, (plane + iy * job.in_shapes[0][2] + ix) as u32, flip);
            }
        });
    }
}

/// Calls `f(j, channel, (oy, ox), rows, cols, plane offset)` for every kept output point of a pool.
fn for_windows(
    win: &Window2d,
    job: &Job,
    mut f: impl FnMut(u32, usize, (usize, usize), std::ops::Range<usize>, std::ops::Range<usize>, usize),
) {
    let (h, w) = (job.in_shapes[0][1], job.in_shapes[0][2]);
    let (oh, ow) = (job.out_shape[1], job.out_shape[2]);
    for &j in job.points {
        let (c, oy, ox) = (
            j as usize / (oh * ow),
            j as usize / ow % oh,
            j as usize % ow,
        );
        f(
            j,
            c,
            (oy, ox),
            win.input_range(0, oy, h),
            win.input_range(1, ox, w),
            c * h * w,
        );
    }
}

/// Compact pool synapse index over (kh, kw, C, OH, OW) with the true kernel offset.
fn pool_synapse(
    win: &Window2d,
    out: &[usize],
    c: usize,
    oy: usize,
    ox: usize,
    iy: usize,
    ix: usize,
) -> usize {
    let (ki, kj) = (win.kernel_offset(0, oy, iy), win.kernel_offset(1, ox, ix));
    (((ki * win.kernel[1] + kj) * out[0] + c) * out[1] + oy) * out[2] + ox
}

/// Max pool: every input equal to the window maximum is kept (all exact ties); flips copy.
fn max_pool(win: &Window2d, job: &Job, input: usize, state: &mut State, s: &mut Scratch) {
    let w = job.in_shapes[0][2];
    let x = job.xs[0];
    for_windows(win, job, |j, c, (oy, ox), rows, cols, plane| {
        let mut m = f32::NEG_INFINITY;
        for iy in rows.clone() {
            m = x[plane + iy * w..][cols.clone()]
                .iter()
                .copied()
                .fold(m, f32::max);
        }
        for iy in rows.clone() {
            for ix in cols.clone() {
                if x[plane + iy * w + ix] == m {
                    s.synapses
                        .push(pool_synapse(win, job.out_shape, c, oy, ox, iy, ix));
                    state.add(input, (plane + iy * w + ix) as u32, job.flip(j));
                }
            }
        }
    });
}
