//! Per-op backward rules (spec §1.4): from the kept points of an op's output to kept points of
//! its inputs, plus the synapses and weights of traced layers.

use std::borrow::Cow;

use effpath_ir::{BatchNorm, Conv2d, Dense, Node, Op, Window2d};
use rayon::prelude::*;

use crate::kernels::{SumMax, products};
use crate::select::{Candidates, Layout, Ranking, ThresholdBase, arg_approx};

#[path = "rules_ext.rs"]
mod ext;
use crate::state::State;

/// Selection settings shared by every rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) theta: f64,
    pub(crate) base: ThresholdBase,
}

/// Scratch buffers of one thread, reused across neurons.
#[derive(Default)]
pub(crate) struct Scratch {
    cand: Vec<f64>,
    rank: Ranking,
    picked: Vec<u32>,
}

/// What a traced layer keeps: its synapse and weight indices (in no particular order; weights
/// may repeat when kernels are shared).
#[derive(Default)]
pub(crate) struct LayerPicks {
    pub(crate) synapses: Vec<usize>,
    pub(crate) weights: Vec<usize>,
}

/// What the neurons of one chunk of output points keep: synapses, weights, and the input
/// points they reach with their flip signs, in the order a sequential walk would add them.
#[derive(Default)]
struct Picks {
    layer: LayerPicks,
    inputs: Vec<(u32, i8)>,
}

/// The shape of one convolution, for recording what a kept neuron picks.
struct ConvGeometry {
    /// `(C_out, C_in per group, kh, kw)`.
    weight: (usize, usize, usize, usize),
    /// Output channels per group.
    cout_g: usize,
    /// Input `(H, W)`.
    input: [usize; 2],
    /// Output `(OH, OW)`.
    output: [usize; 2],
}

impl ConvGeometry {
    fn new(c: &Conv2d, input: [usize; 2], output: [usize; 2]) -> Self {
        let weight = c.weight.dim();
        ConvGeometry {
            weight,
            cout_g: weight.0 / c.groups,
            input,
            output,
        }
    }
}

impl Picks {
    /// Records candidate `(ic, ki, kj)` — input pixel `(iy, ix)` — picked by output
    /// `(oc, oy, ox)`: its synapse (compact encoding, spec §1.5), its weight and its input point.
    fn keep_conv(
        &mut self,
        c: &ConvGeometry,
        [oc, oy, ox]: [usize; 3],
        [ic, ki, kj]: [usize; 3],
        [iy, ix]: [usize; 2],
        flip: i8,
    ) {
        let (cout, cin_g, kh, kw) = c.weight;
        let ([h, w], [oh, ow]) = (c.input, c.output);
        let g = oc / c.cout_g;
        self.layer
            .synapses
            .push(((((ic * kh + ki) * kw + kj) * cout + oc) * oh + oy) * ow + ox);
        self.layer
            .weights
            .push(((oc * cin_g + ic) * kh + ki) * kw + kj);
        self.inputs
            .push((((g * cin_g + ic) * h * w + iy * w + ix) as u32, flip));
    }
}

/// A convolution's weights `(C_out, C_in per group, kh, kw)` reordered to `(C_out, kh, kw,
/// C_in per group)`.
pub(crate) fn kernel_hwc(c: &Conv2d) -> Vec<f32> {
    let (cout, cin_g, kh, kw) = c.weight.dim();
    let mut t = vec![0f32; cout * cin_g * kh * kw];
    for ((oc, ic, ki, kj), &v) in c.weight.indexed_iter() {
        t[((oc * kh + ki) * kw + kj) * cin_g + ic] = v;
    }
    t
}

/// Pixels per parallel block of [`channels_last`].
const PIXEL_BLOCK: usize = 64;

/// `x` (`C × hw`, channels first) transposed to `hw × C`, in parallel pixel blocks.
fn channels_last(x: &[f32], hw: usize) -> Vec<f32> {
    let c = x.len() / hw.max(1);
    let mut t = vec![0f32; x.len()];
    t.par_chunks_mut(PIXEL_BLOCK * c)
        .enumerate()
        .for_each(|(b, dst)| {
            let p0 = b * PIXEL_BLOCK;
            for (ci, plane) in x.chunks_exact(hw).enumerate() {
                for (k, &v) in plane[p0..][..dst.len() / c].iter().enumerate() {
                    dst[k * c + ci] = v;
                }
            }
        });
    t
}

/// The sign a batch norm multiplies the flip of its output point `j` by on the way to its
/// input: sign(x)·sign(y)·sign(scale_c). Upstream, "y·flip < 0" then means "the post-BN value,
/// seen through the BN scale, is negative", so selection ranks contributions to the post-BN
/// value (spec §1.4.9 plus the scale sign; identical to the original when the scale is
/// positive). `inner` = elements per channel.
fn batch_norm_sign(bn: &BatchNorm, x: &[f32], y: &[f32], inner: usize, j: u32) -> i8 {
    let sgn = |v: f32| if v < 0.0 { -1i8 } else { 1 };
    let c = j as usize / inner.max(1);
    sgn(x[j as usize]) * sgn(y[j as usize]) * sgn(bn.gamma[c])
}

/// For an op whose output point `j` is its (only) input's point `j` — ReLU, LRN, flatten,
/// reshape, element-wise activations, batch norm — the flips its input gets for `points`
/// (`None`: all +1), computed as [`Rule::trace`] would; `Err(flips)` (handed back) for every
/// other op. The extractor then passes the point set on whole instead of point by point.
pub(crate) fn pass_through(
    op: &Op,
    x: &[f32],
    y: &[f32],
    out_shape: &[usize],
    points: &[u32],
    flips: Option<Vec<i8>>,
) -> Result<Option<Vec<i8>>, Option<Vec<i8>>> {
    match op {
        Op::Relu | Op::Lrn(_) | Op::Flatten | Op::Reshape(_) | Op::Activation(_) => Ok(flips),
        Op::BatchNorm(bn) => {
            let inner: usize = out_shape[1..].iter().product();
            let mut flips = flips;
            for &j in points {
                let s = batch_norm_sign(bn, x, y, inner, j);
                if s == -1 {
                    let f = flips.get_or_insert_with(|| vec![1; x.len()]);
                    f[j as usize] = -f[j as usize];
                }
            }
            Ok(flips)
        }
        Op::Dense(_)
        | Op::Conv2d(_)
        | Op::MaxPool2d(_)
        | Op::AvgPool2d(_)
        | Op::GlobalAvgPool
        | Op::Add
        | Op::Transpose(_)
        | Op::Concat(_)
        | Op::Softmax
        | Op::LogSoftmax
        | Op::Binary(_)
        | Op::Slice(_)
        | Op::Pad(_) => Err(flips),
    }
}

/// Output points per parallel work item; below two chunks a layer runs on the calling thread.
const CHUNK: usize = 128;

/// Runs `neuron` on every point, split across the rayon pool in fixed chunks, and applies the
/// results in point order — so the path never depends on the number of threads.
fn for_points(
    points: &[u32],
    input: usize,
    state: &mut State,
    out: &mut LayerPicks,
    neuron: impl Fn(u32, &mut Scratch, &mut Picks) + Sync,
) {
    let run = |s: &mut Scratch, chunk: &[u32]| {
        let mut p = Picks::default();
        for &j in chunk {
            neuron(j, s, &mut p);
        }
        p
    };
    let parts: Vec<Picks> = if points.len() < 2 * CHUNK {
        vec![run(&mut Scratch::default(), points)]
    } else {
        points
            .par_chunks(CHUNK)
            .map_init(Scratch::default, run)
            .collect()
    };
    for p in parts {
        out.synapses.extend_from_slice(&p.layer.synapses);
        out.weights.extend_from_slice(&p.layer.weights);
        for (i, flip) in p.inputs {
            state.add(input, i, flip);
        }
    }
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
    /// For a convolution with kernels larger than 1×1: its weights as `(C_out, kh, kw, C_in
    /// per group)`, so that one window position's weights are one contiguous run.
    pub(crate) kernel: Option<&'a [f32]>,
}

impl Job<'_> {
    fn flip(&self, j: u32) -> i8 {
        self.flips.map_or(1, |f| f[j as usize])
    }
}

impl Rule {
    /// The sign (±1) that contributions to output `j` are multiplied by before ranking: −1
    /// when the output, seen through its flip, is negative.
    fn sign(job: &Job, j: u32) -> f64 {
        if job.y[j as usize] as f64 * job.flip(j) as f64 >= 0.0 {
            1.0
        } else {
            -1.0
        }
    }

    /// Selects among `s.cand` (already multiplied by [`Rule::sign`], in canonical order) for
    /// output `j` into `s.picked`, and returns the flip for the inputs.
    fn select(&self, job: &Job, j: u32, s: &mut Scratch) -> i8 {
        self.select_in(job, j, s, Layout::Canonical, None)
    }

    /// [`Rule::select`] for candidates stored in `layout`, with their `(sum, max)` if it was
    /// accumulated while they were written; `s.picked` gets storage positions.
    fn select_in(
        &self,
        job: &Job,
        j: u32,
        s: &mut Scratch,
        layout: Layout,
        stats: Option<(f64, f64)>,
    ) -> i8 {
        let out_flip = job.flip(j);
        let eff = job.y[j as usize] as f64 * out_flip as f64;
        s.picked.clear();
        let cand = match stats {
            Some(stats) => Candidates::summed(&s.cand, layout, stats),
            None => Candidates::new(&s.cand, layout),
        };
        let (_, max) = arg_approx(
            cand,
            self.theta,
            self.base,
            eff.abs(),
            &mut s.rank,
            &mut s.picked,
        );
        if out_flip == -1 && max < 0.0 { -1 } else { 1 }
    }

    /// Runs the rule of `job.node`, adding input points to `state` and, for traced layers,
    /// synapse and weight indices to `s`.
    pub(crate) fn trace(&self, job: &Job, state: &mut State, out: &mut LayerPicks) {
        let inputs = &job.node.inputs;
        let single = inputs[0].0;
        match &job.node.op {
            Op::Dense(d) => self.dense(d, job, single, state, out),
            Op::Conv2d(c) if c.dilation != [1, 1] => self.dilated_conv(c, job, single, state, out),
            Op::Conv2d(c) => self.conv(c, job, single, state, out),
            Op::MaxPool2d(w) => max_pool(w, job, single, state, out),
            Op::AvgPool2d(a) => self.avg_pool(&a.window, job, single, state, out),
            Op::GlobalAvgPool => {
                let hw = job.in_shapes[0][1] * job.in_shapes[0][2];
                for_points(job.points, single, state, out, |j, s, p| {
                    let base = j as usize * hw;
                    let sgn = Rule::sign(job, j);
                    s.cand.clear();
                    s.cand
                        .extend(job.xs[0][base..base + hw].iter().map(|&v| v as f64 * sgn));
                    let flip = self.select(job, j, s);
                    for &k in &s.picked {
                        let i = base + k as usize;
                        p.layer.synapses.push(i);
                        p.inputs.push((i as u32, flip));
                    }
                });
            }
            Op::Relu | Op::Lrn(_) | Op::Flatten | Op::Reshape(_) => {
                for &j in job.points {
                    state.add(single, j, job.flip(j));
                }
            }
            Op::BatchNorm(bn) => {
                let inner: usize = job.out_shape[1..].iter().product();
                for &j in job.points {
                    let f = job.flip(j) * batch_norm_sign(bn, job.xs[0], job.y, inner, j);
                    state.add(single, j, f);
                }
            }
            Op::Add => {
                let mut s = Scratch::default();
                for &j in job.points {
                    let sgn = Rule::sign(job, j);
                    s.cand.clear();
                    s.cand
                        .extend(job.xs.iter().map(|x| x[j as usize] as f64 * sgn));
                    let flip = self.select(job, j, &mut s);
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
            // Element-wise, one input per output: points and flips pass through, as for ReLU
            // (decision 18).
            Op::Activation(_) => {
                for &j in job.points {
                    state.add(single, j, job.flip(j));
                }
            }
            Op::Binary(b) => self.binary(*b, job, state),
            Op::Slice(s) => ext::slice(s, job, state),
            Op::Pad(p) => ext::pad(p, job, state),
        }
    }

    fn dense(&self, d: &Dense, job: &Job, input: usize, state: &mut State, out: &mut LayerPicks) {
        let (n_out, n_in) = d.weight.dim();
        let x = job.xs[0];
        let weight = d.weight.as_standard_layout();
        let wt = weight.as_slice().expect("standard layout");
        for_points(job.points, input, state, out, |j, s, p| {
            let row = &wt[j as usize * n_in..][..n_in];
            let sgn = Rule::sign(job, j);
            s.cand.resize(n_in, 0.0);
            let mut acc = SumMax::new();
            acc.add_products(row, x, sgn, &mut s.cand);
            let stats = Some(acc.finish());
            let flip = self.select_in(job, j, s, Layout::Canonical, stats);
            for &i in &s.picked {
                p.layer.synapses.push(i as usize * n_out + j as usize);
                p.layer.weights.push(j as usize * n_in + i as usize);
                p.inputs.push((i, flip));
            }
        });
    }

    fn conv(&self, c: &Conv2d, job: &Job, input: usize, state: &mut State, out: &mut LayerPicks) {
        let (cout, cin_g, kh, kw) = c.weight.dim();
        let [_, h, w] = [
            job.in_shapes[0][0],
            job.in_shapes[0][1],
            job.in_shapes[0][2],
        ];
        let (oh, ow) = (job.out_shape[1], job.out_shape[2]);
        let cout_g = cout / c.groups;
        let geom = ConvGeometry::new(c, [h, w], [oh, ow]);
        let x = job.xs[0];
        let weight = c.weight.as_standard_layout();
        let wt = weight.as_slice().expect("standard layout");
        let win = &c.window;
        // Channels-last input (one transposition per layer) when the kept neurons read more
        // than the layer's input holds: then a neuron's inputs at one window position are one
        // contiguous run over its input channels.
        let numel = x.len();
        // Runs shorter than a vector (the RGB input of a stem conv, grouped convs) stay on the
        // canonical path: per-position runs of 1–15 channels would be all loop overhead.
        let runs = cin_g >= SumMax::LANES;
        let hwc = (runs && numel > 0 && job.points.len() * cin_g * kh * kw >= numel)
            .then(|| (channels_last(x, h * w), numel / (h * w)));
        // The `(C_out, kh, kw, C_in)` kernel the position-major candidates read (the stored one
        // is the same for 1×1 kernels; the extractor caches it, else it is made here).
        let kernel: Option<Cow<[f32]>> = match (hwc.is_some(), job.kernel) {
            (false, _) => None,
            (true, Some(k)) => Some(Cow::Borrowed(k)),
            (true, None) if kh * kw == 1 => None,
            (true, None) => Some(Cow::Owned(kernel_hwc(c))),
        };
        for_points(job.points, input, state, out, |j, s, p| {
            let (oc, oy, ox) = (
                j as usize / (oh * ow),
                j as usize / ow % oh,
                j as usize % ow,
            );
            let g = oc / cout_g;
            let (rows, cols) = (win.input_range(0, oy, h), win.input_range(1, ox, w));
            let (nr, nc) = (rows.len(), cols.len());
            let kj0 = win.kernel_offset(1, ox, cols.start);
            let sgn = Rule::sign(job, j);
            let (layout, stats) = match &hwc {
                Some((t, cin)) if nr * nc > 0 => {
                    // Position-major candidates: per window position, the run of input channels
                    // (contiguous in the channels-last input and in the `(C_out, kh, kw, C_in)`
                    // kernel) — ranked by the canonical index (ic, iy, ix) all the same.
                    let wk = kernel.as_deref().unwrap_or(wt);
                    s.cand.resize(nr * nc * cin_g, 0.0);
                    // The sum is taken as the runs are written when every run is whole lanes.
                    let mut acc = (cin_g % SumMax::LANES == 0).then(SumMax::new);
                    let mut dst = s.cand.chunks_exact_mut(cin_g);
                    for iy in rows.clone() {
                        let ki = win.kernel_offset(0, oy, iy);
                        for (q, ix) in cols.clone().enumerate() {
                            let wo = ((oc * kh + ki) * kw + kj0 + q) * cin_g;
                            let xo = (iy * w + ix) * cin + g * cin_g;
                            let (wr, xr) = (&wk[wo..][..cin_g], &t[xo..][..cin_g]);
                            match (dst.next(), acc.as_mut()) {
                                (Some(d), Some(a)) => a.add_products(wr, xr, sgn, d),
                                (Some(d), None) => products(wr, xr, sgn, d),
                                (None, _) => {}
                            }
                        }
                    }
                    let layout = Layout::PositionMajor {
                        channels: cin_g as u32,
                        positions: (nr * nc) as u32,
                    };
                    (layout, acc.map(SumMax::finish))
                }
                Some(_) | None => {
                    // Canonical candidate order (ic, iy, ix): each kernel row is one contiguous
                    // run of weights and of inputs.
                    // (A window wholly in the padding has no candidates.)
                    s.cand.clear();
                    for ic in (0..cin_g).filter(|_| nc > 0) {
                        let plane = (g * cin_g + ic) * h * w;
                        let wrow0 = (oc * cin_g + ic) * kh;
                        for iy in rows.clone() {
                            let ki = win.kernel_offset(0, oy, iy);
                            let wr = &wt[(wrow0 + ki) * kw + kj0..][..nc];
                            let xr = &x[plane + iy * w + cols.start..][..nc];
                            s.cand.extend(
                                wr.iter()
                                    .zip(xr)
                                    .map(|(&wv, &xv)| wv as f64 * xv as f64 * sgn),
                            );
                        }
                    }
                    (Layout::Canonical, None)
                }
            };
            let flip = self.select_in(job, j, s, layout, stats);
            for &k in &s.picked {
                let k = layout.canonical(k) as usize;
                let (ic, iy, ix) = (k / (nr * nc), rows.start + k / nc % nr, cols.start + k % nc);
                let (ki, kj) = (win.kernel_offset(0, oy, iy), win.kernel_offset(1, ox, ix));
                p.keep_conv(&geom, [oc, oy, ox], [ic, ki, kj], [iy, ix], flip);
            }
        });
    }

    fn avg_pool(
        &self,
        win: &Window2d,
        job: &Job,
        input: usize,
        state: &mut State,
        out: &mut LayerPicks,
    ) {
        let (h, w) = (job.in_shapes[0][1], job.in_shapes[0][2]);
        let (oh, ow) = (job.out_shape[1], job.out_shape[2]);
        for_points(job.points, input, state, out, |j, s, p| {
            let (c, oy, ox) = (
                j as usize / (oh * ow),
                j as usize / ow % oh,
                j as usize % ow,
            );
            let (rows, cols) = (win.input_range(0, oy, h), win.input_range(1, ox, w));
            let plane = c * h * w;
            let sgn = Rule::sign(job, j);
            s.cand.clear();
            for iy in rows.clone() {
                s.cand.extend(
                    job.xs[0][plane + iy * w..][cols.clone()]
                        .iter()
                        .map(|&v| v as f64 * sgn),
                );
            }
            let flip = self.select(job, j, s);
            let nc = cols.len();
            for &k in &s.picked {
                let (iy, ix) = (rows.start + k as usize / nc, cols.start + k as usize % nc);
                p.layer
                    .synapses
                    .push(pool_synapse(win, job.out_shape, c, oy, ox, iy, ix));
                p.inputs.push(((plane + iy * w + ix) as u32, flip));
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
fn max_pool(win: &Window2d, job: &Job, input: usize, state: &mut State, out: &mut LayerPicks) {
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
                    out.synapses
                        .push(pool_synapse(win, job.out_shape, c, oy, ox, iy, ix));
                    state.add(input, (plane + iy * w + ix) as u32, job.flip(j));
                }
            }
        }
    });
}
