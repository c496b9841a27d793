//! A stable content fingerprint of a network: architecture and weights, not names.

use sha2::{Digest, Sha256};

use crate::graph::Network;
use crate::op::{Op, Window2d};

/// The network fingerprint: one type, defined in `effpath-algebra` (which tags every path
/// space with it and knows nothing about networks) and computed here by
/// [`Network::fingerprint`]. Displayed and serialised as 64 lowercase hex digits.
pub use effpath_algebra::Fingerprint;

struct Enc(Sha256);

impl Enc {
    fn n(&mut self, v: usize) {
        self.0.update((v as u64).to_le_bytes());
    }
    fn ns(&mut self, v: &[usize]) {
        self.n(v.len());
        v.iter().for_each(|&x| self.n(x));
    }
    fn f(&mut self, v: f32) {
        self.0.update(v.to_bits().to_le_bytes());
    }
    fn fs<'a>(&mut self, v: impl ExactSizeIterator<Item = &'a f32>) {
        self.n(v.len());
        v.for_each(|&x| self.f(x));
    }
    fn opt<'a>(&mut self, v: Option<impl ExactSizeIterator<Item = &'a f32>>) {
        match v {
            Some(v) => {
                self.n(1);
                self.fs(v);
            }
            None => self.n(0),
        }
    }
    fn window(&mut self, w: &Window2d) {
        self.ns(&w.kernel);
        self.ns(&w.stride);
        self.ns(&w.pads_begin);
        self.ns(&w.pads_end);
    }
}

impl Network {
    /// The network's content fingerprint: SHA-256 of a canonical encoding of its input
    /// shape, wiring, op parameters and weights (little-endian `f32` bits). Node and tensor
    /// names are not included, so a network exported to ONNX and re-imported keeps its
    /// fingerprint; any changed weight changes it.
    ///
    /// ```
    /// let a = effpath_ir::zoo::lenet5(1);
    /// assert_eq!(a.fingerprint(), effpath_ir::zoo::lenet5(1).fingerprint());
    /// assert_ne!(a.fingerprint(), effpath_ir::zoo::lenet5(2).fingerprint());
    /// assert_eq!(a.fingerprint().to_string().len(), 64);
    /// // The same type as the fingerprint of a path space.
    /// let _: effpath_algebra::Fingerprint = a.fingerprint();
    /// ```
    pub fn fingerprint(&self) -> Fingerprint {
        let mut e = Enc(Sha256::new());
        e.0.update(b"effpath-network-v1");
        e.ns(self.input_shape());
        e.n(self.nodes().len());
        for node in self.nodes() {
            e.0.update(node.op.kind().as_bytes());
            e.ns(&node.inputs.iter().map(|v| v.0).collect::<Vec<_>>());
            match &node.op {
                Op::Dense(d) => {
                    e.ns(d.weight.shape());
                    e.fs(d.weight.iter());
                    e.opt(d.bias.as_ref().map(|b| b.iter()));
                }
                Op::Conv2d(c) => {
                    e.ns(c.weight.shape());
                    e.fs(c.weight.iter());
                    e.opt(c.bias.as_ref().map(|b| b.iter()));
                    e.window(&c.window);
                    e.ns(&c.dilation);
                    e.n(c.groups);
                }
                Op::MaxPool2d(w) => e.window(w),
                Op::AvgPool2d(a) => {
                    e.window(&a.window);
                    e.n(a.count_include_pad as usize);
                }
                Op::Lrn(l) => {
                    e.n(l.size);
                    [l.alpha, l.beta, l.bias].iter().for_each(|&v| e.f(v));
                }
                Op::Reshape(s) | Op::Transpose(s) => e.ns(s),
                Op::BatchNorm(b) => {
                    for v in [&b.gamma, &b.beta, &b.mean, &b.var] {
                        e.fs(v.iter());
                    }
                    e.f(b.epsilon);
                }
                Op::Concat(a) => e.n(*a),
                Op::Activation(a) => e.fs(a.params().iter()),
                Op::Binary(_) => {}
                Op::Slice(s) => e.ns(&[s.axis, s.start, s.step, s.len]),
                Op::Pad(p) => {
                    e.ns(&p.begin);
                    e.ns(&p.end);
                    e.f(p.value);
                }
                Op::GlobalAvgPool
                | Op::Relu
                | Op::Flatten
                | Op::Add
                | Op::Softmax
                | Op::LogSoftmax => {}
            }
        }
        e.n(self.output().0);
        if let Some([mean, std]) = self.input_normalization() {
            e.0.update(b"input-normalization");
            e.f(mean);
            e.f(std);
        }
        Fingerprint(e.0.finalize().into())
    }
}
