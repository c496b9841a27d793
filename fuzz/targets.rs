//! The bodies of effpath's fuzz targets, shared by the cargo-fuzz binaries
//! (`fuzz/fuzz_targets/<name>.rs`, nightly) and the stable replay test
//! (`crates/effpath/tests/fuzz_replay.rs`), which both include this file with
//! `#[path = …] mod targets;`.
//!
//! Each target takes arbitrary bytes. A decoder must return `Ok` or a typed error for every
//! input — a panic (including an overflow in a debug build), an abort, a hang or an allocation
//! beyond the limits is a bug. When a decoder succeeds, the target also checks what the result
//! promises (re-encoding round trips, forward passes of small imported models, the
//! extraction invariants), and panics with a message if it does not hold.
//!
//! Only the `effpath` facade, `sha2` and `std` are used, so that both includers compile it.

#![allow(dead_code)]

use std::sync::Arc;

use effpath::algebra::{ElementKind, LayerKind, Path, PathSet, PathSetReader};
use effpath::data::{IdxOptions, LabeledImages, Normalization};
use effpath::extract::{
    ClassPaths, ExtractError, ExtractOptions, Extraction, Extractor, NetworkSpace, Seed,
    ThresholdBase, fnv1a,
};
use effpath::ir::{
    Activation, BatchNorm, Binary, Conv2d, Network, NetworkBuilder, Op, Pad, Slice, ValueId,
    Window2d,
    onnx::{self, ImportLimits},
};
use effpath::ndarray::{Array1, Array2, Array4, ArrayD, Axis, IxDyn};
use effpath::{Detector, DetectorModel};

/// A fuzz target: a name (its `fuzz/corpus/<name>/` folder) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, for the replay test.
pub const TARGETS: &[Target] = &[
    ("onnx", onnx),
    ("idx", idx),
    ("npy", npy),
    ("path_file", path_file),
    ("class_file", class_file),
    ("detector_json", detector_json),
    ("extract", extract),
];

// ---------------------------------------------------------------------------------------------
// onnx

/// Limits of the ONNX target: far below the defaults, so that the fuzzer's memory stays small.
pub const ONNX_LIMITS: ImportLimits = ImportLimits {
    max_nodes: 10_000,
    max_rank: 16,
    max_total_elements: 1 << 22,
    max_const_elements: 1 << 22,
};
/// An imported model is run forward only when all its values together have at most this many
/// elements per sample…
const MAX_FORWARD_ELEMENTS: usize = 1 << 18;
/// …and at most this many multiply–accumulates per sample.
const MAX_FORWARD_MACS: usize = 1 << 23;

/// ONNX import; a small imported model is exported and re-imported (same fingerprint), run on a
/// zero input, and its path extracted (`Ok`, or the non-finite error, with the invariants).
pub fn onnx(data: &[u8]) {
    let net = match onnx::from_bytes_with(data, &ONNX_LIMITS) {
        Ok(net) => net,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let back = onnx::from_bytes(&onnx::to_bytes(&net))
        .unwrap_or_else(|e| panic!("an imported network must export and re-import: {e}"));
    assert_eq!(back.fingerprint(), net.fingerprint(), "export round trip");
    assert_eq!(back.input_normalization(), net.input_normalization());

    let elements = net.shapes().iter().try_fold(0usize, |acc, s| {
        acc.checked_add(s.iter().try_fold(1usize, |p, &d| p.checked_mul(d))?)
    });
    let macs = (0..net.nodes().len()).try_fold(0usize, |acc, i| {
        macs(&net, i).and_then(|m| acc.checked_add(m))
    });
    if elements.is_none_or(|e| e > MAX_FORWARD_ELEMENTS)
        || macs.is_none_or(|m| m > MAX_FORWARD_MACS)
    {
        return;
    }
    let mut shape = vec![1];
    shape.extend_from_slice(net.input_shape());
    let x = ArrayD::<f32>::zeros(IxDyn(&shape));
    let acts = net
        .forward(&x)
        .unwrap_or_else(|e| panic!("forward on a zero input: {e}"));
    for (v, s) in net.shapes().iter().enumerate() {
        assert_eq!(
            &acts.get(ValueId(v)).shape()[1..],
            s.as_slice(),
            "value {v} has its inferred shape"
        );
    }
    let Ok(ex) = Extractor::new(&net, ExtractOptions::default()) else {
        return;
    };
    match ex.extract_sample(&acts, 0) {
        Ok(e) => check_extraction(&net, ex.space(), &e),
        Err(ExtractError::NonFinite { .. }) => {}
        Err(e) => panic!("extraction on a zero input: {e}"),
    }
}

/// Multiply–accumulates of node `i` per sample, `None` on overflow.
fn macs(net: &Network, i: usize) -> Option<usize> {
    let node = &net.nodes()[i];
    let out = net
        .shape(ValueId(i + 1))
        .iter()
        .try_fold(1usize, |p, &d| p.checked_mul(d))?;
    let input = net
        .shape(node.inputs[0])
        .iter()
        .try_fold(1usize, |p, &d| p.checked_mul(d))?;
    match &node.op {
        Op::Dense(d) => Some(d.weight.len()),
        Op::Conv2d(c) => {
            let (_, cin_g, kh, kw) = c.weight.dim();
            out.checked_mul(cin_g)?.checked_mul(kh)?.checked_mul(kw)
        }
        Op::MaxPool2d(w) => out.checked_mul(w.kernel[0])?.checked_mul(w.kernel[1]),
        Op::AvgPool2d(a) => out
            .checked_mul(a.window.kernel[0])?
            .checked_mul(a.window.kernel[1]),
        Op::Lrn(l) => out.checked_mul(l.size.min(input)),
        _ => Some(out.max(input)),
    }
}

// ---------------------------------------------------------------------------------------------
// idx

/// Cap on the declared data size in the IDX target.
const IDX_MAX_BYTES: u64 = 1 << 24;

/// IDX images and labels, separately and paired. Layout of the input: a little-endian `u16` L,
/// then L bytes of a label file, then an image file (each gzip or plain).
pub fn idx(data: &[u8]) {
    let opts = IdxOptions::default()
        .with_max_bytes(IDX_MAX_BYTES)
        .with_num_classes(10);
    let (labels, images) = match data {
        [a, b, rest @ ..] => {
            rest.split_at(usize::from(u16::from_le_bytes([*a, *b])).min(rest.len()))
        }
        _ => (data, data),
    };
    if let Ok(imgs) = effpath::data::decode_images(images, "images", &opts) {
        assert!(imgs.len() as u64 <= IDX_MAX_BYTES);
    }
    if let Ok(labs) = effpath::data::decode_labels(labels, "labels", &opts) {
        assert!(
            labs.iter().all(|&l| l < 10),
            "labels are checked against num_classes"
        );
    }
    // The whole input as either kind, too.
    let _ = effpath::data::decode_images(data, "data", &opts);
    let _ = effpath::data::decode_labels(data, "data", &opts);
    match LabeledImages::from_idx_bytes(images, "images", labels, "labels", &opts) {
        Ok(set) => {
            assert_eq!(set.images().len_of(Axis(0)), set.len());
            let n = set.len().min(4);
            let x = set
                .to_tensor(0..n, Normalization::MNIST)
                .unwrap_or_else(|e| panic!("to_tensor of a valid range: {e}"));
            assert!(x.iter().all(|v| v.is_finite()));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// npy

/// `.npy` decoding as `f32`, `i64` and `u8`; what decodes re-encodes to an equal array.
pub fn npy(data: &[u8]) {
    if let Ok(a) = effpath::data::decode_npy::<f32>(data, "fuzz") {
        let back = effpath::data::decode_npy::<f32>(
            &effpath::data::encode_npy(&a).expect("encode to memory"),
            "again",
        )
        .unwrap_or_else(|e| panic!("re-decoding an encoded f32 array: {e}"));
        assert_eq!(a.shape(), back.shape());
        assert!(
            a.iter()
                .zip(back.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }
    if let Ok(a) = effpath::data::decode_npy::<i64>(data, "fuzz") {
        let back = effpath::data::decode_npy::<i64>(
            &effpath::data::encode_npy(&a).expect("encode to memory"),
            "again",
        )
        .unwrap_or_else(|e| panic!("re-decoding an encoded i64 array: {e}"));
        assert_eq!(a, back);
    }
    match effpath::data::decode_npy::<u8>(data, "fuzz") {
        Ok(a) => {
            let back = effpath::data::decode_npy::<u8>(
                &effpath::data::encode_npy(&a).expect("encode to memory"),
                "again",
            )
            .unwrap_or_else(|e| panic!("re-decoding an encoded u8 array: {e}"));
            assert_eq!(a, back);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// path files

/// `bytes` with its last 32 bytes replaced by the SHA-256 of the rest (the v1 path-file
/// checksum), so that the fuzzer also reaches the checks behind the checksum.
fn with_sha256_trailer(bytes: &[u8]) -> Option<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let body = bytes.len().checked_sub(32)?;
    let mut out = bytes[..body].to_vec();
    out.extend_from_slice(&Sha256::digest(&out));
    Some(out)
}

/// A bounds-checked cursor for [`with_v2_checksums`].
struct Cur<'a>(&'a [u8], usize);

impl Cur<'_> {
    fn skip(&mut self, n: usize) -> Option<()> {
        self.1 = self.1.checked_add(n).filter(|&e| e <= self.0.len())?;
        Some(())
    }
    fn u8(&mut self) -> Option<u8> {
        let b = *self.0.get(self.1)?;
        self.1 += 1;
        Some(b)
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.0.get(self.1..self.1 + 4)?;
        self.1 += 4;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.0.get(self.1..self.1 + 8)?;
        self.1 += 8;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }
}

/// A v2 path file with its header checksum and every body checksum that lies inside the
/// input recomputed, so that the fuzzer reaches the index and body checks.
fn with_v2_checksums(bytes: &[u8]) -> Option<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let mut c = Cur(bytes, 0);
    c.skip(8)?;
    if c.u32()? != 2 {
        return None;
    }
    c.skip(4 + 32)?;
    for _ in 0..c.u32()?.min(1 << 16) {
        let name = c.u32()? as usize;
        c.skip(name)?;
        c.skip(1)?;
        for _ in 0..3 {
            let rank = c.u8()? as usize;
            c.skip(8 * rank)?;
        }
    }
    let n = c.u64()?;
    let index_at = c.1;
    let index_len = usize::try_from(n).ok()?.checked_mul(20)?;
    c.skip(index_len)?;
    let header_end = c.1;
    c.skip(32)?;
    let mut out = bytes.to_vec();
    let digest = Sha256::digest(&out[..header_end]);
    out[header_end..header_end + 32].copy_from_slice(&digest);
    for i in 0..n as usize {
        let mut e = Cur(bytes, index_at + 20 * i + 4);
        let (at, len) = (e.u64()? as usize, e.u64()? as usize);
        let Some(end) = at.checked_add(len).filter(|&e| e <= out.len() && len >= 32) else {
            continue;
        };
        let digest = Sha256::digest(&out[at..end - 32]);
        out[end - 32..end].copy_from_slice(&digest);
    }
    Some(out)
}

/// The format version of a path file (bytes 8..12), if present.
fn path_file_version(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?))
}

/// Path and path-set files, as given and with corrected checksums. The v2 format is
/// canonical: what decodes re-encodes to the same bytes (a v1 file re-encodes as v2, to an
/// equal path); the stream reader agrees; and reading a path-set file one label at a time
/// succeeds exactly when reading it whole does, giving the same paths.
pub fn path_file(data: &[u8]) {
    let fixed = with_sha256_trailer(data);
    let fixed_v2 = with_v2_checksums(data);
    for bytes in std::iter::once(data)
        .chain(fixed.as_deref())
        .chain(fixed_v2.as_deref())
    {
        let v1 = path_file_version(bytes) == Some(1);
        match Path::from_bytes(bytes) {
            Ok(p) => {
                let again = p.to_bytes();
                if v1 {
                    let back = Path::from_bytes(&again)
                        .unwrap_or_else(|e| panic!("a v1 path re-encoded as v2: {e}"));
                    assert_eq!(back, p, "a v1 path re-encoded as v2");
                    assert_eq!(back.to_bytes(), again, "a v2 path file is canonical");
                } else {
                    assert_eq!(again, bytes, "a path file is canonical");
                }
                let streamed =
                    Path::read_from(bytes).unwrap_or_else(|e| panic!("stream reader: {e}"));
                assert_eq!(streamed, p);
            }
            Err(e) => {
                let _ = e.to_string();
                if let Ok(p) = Path::read_from(bytes) {
                    // The stream reader stops at the end of the file's data; only trailing
                    // bytes may differ (a v1 file re-encodes as v2).
                    assert!(
                        v1 || bytes.starts_with(&p.to_bytes()),
                        "stream reader accepted a bad file: {e}"
                    );
                }
            }
        }
        let whole = PathSet::from_bytes(bytes);
        match &whole {
            Ok(s) => {
                let again = s.to_bytes();
                if v1 {
                    let back = PathSet::from_bytes(&again)
                        .unwrap_or_else(|e| panic!("a v1 path set re-encoded as v2: {e}"));
                    assert_eq!(&back, s, "a v1 path set re-encoded as v2");
                } else {
                    assert_eq!(again, bytes, "a path-set file is canonical");
                }
                let streamed =
                    PathSet::read_from(bytes).unwrap_or_else(|e| panic!("stream reader: {e}"));
                assert_eq!(&streamed, s);
                let _ = s.union_all();
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        // One label at a time.
        match PathSetReader::open(std::io::Cursor::new(bytes)) {
            Ok(mut r) => {
                let labels: Vec<u32> = r.labels().collect();
                let mut all_ok = true;
                for &label in &labels {
                    match r.read(label) {
                        Ok(p) => {
                            let p = p.unwrap_or_else(|| panic!("label {label} is listed"));
                            if let Ok(s) = &whole {
                                assert_eq!(s.get(label), Some(&p), "read_label agrees");
                            }
                        }
                        Err(e) => {
                            let _ = e.to_string();
                            all_ok = false;
                        }
                    }
                }
                assert_eq!(all_ok, whole.is_ok(), "label-wise and whole reads agree");
                if let Some(missing) = (0..=labels.len() as u32).find(|l| !labels.contains(l)) {
                    assert!(matches!(r.read(missing), Ok(None)));
                }
            }
            Err(e) => {
                let _ = e.to_string();
                assert!(whole.is_err(), "the reader refused a good file: {e}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// class-path files

/// Offset of the class count in a class-path file (magic, version, options record).
const CLASS_COUNT_AT: usize = 8 + 4 + 26;

/// Where the path set of a class-path file starts (after the header checksum), if the
/// header is long enough.
fn class_paths_at(bytes: &[u8]) -> Option<usize> {
    let count = bytes.get(CLASS_COUNT_AT..CLASS_COUNT_AT + 4)?;
    let classes = u32::from_le_bytes(count.try_into().ok()?) as usize;
    let header_end = (CLASS_COUNT_AT + 4).checked_add(classes.checked_mul(8)?)?;
    let paths_at = header_end.checked_add(8)?;
    (bytes.len() >= paths_at).then_some(paths_at)
}

/// `bytes` with the class-file header checksum and the path-set checksums corrected.
fn with_class_checksums(bytes: &[u8]) -> Option<Vec<u8>> {
    let paths_at = class_paths_at(bytes)?;
    let header_end = paths_at - 8;
    let mut out = bytes[..header_end].to_vec();
    out.extend_from_slice(&fnv1a(&out).to_le_bytes());
    let rest = &bytes[paths_at..];
    let fixed = with_v2_checksums(rest)
        .or_else(|| with_sha256_trailer(rest))
        .unwrap_or_else(|| rest.to_vec());
    out.extend_from_slice(&fixed);
    Some(out)
}

/// Class-path files, as given and with corrected checksums; canonical like path files (a file
/// with a v1 path set re-encodes to an equal one with a v2 path set); reading one class gives
/// that class's path of the whole file.
pub fn class_file(data: &[u8]) {
    let fixed = with_class_checksums(data);
    for bytes in std::iter::once(data).chain(fixed.as_deref()) {
        match ClassPaths::from_bytes(bytes, None) {
            Ok(cp) => {
                let again = cp.to_bytes();
                let v1 =
                    class_paths_at(bytes).and_then(|at| path_file_version(&bytes[at..])) == Some(1);
                if v1 {
                    let back = ClassPaths::from_bytes(&again, None)
                        .unwrap_or_else(|e| panic!("a v1 class file re-encoded: {e}"));
                    assert_eq!(back, cp, "a v1 class file re-encoded");
                } else {
                    assert_eq!(again, bytes, "a class-path file is canonical");
                }
                let fp = cp.fingerprint();
                assert!(ClassPaths::from_bytes(bytes, Some(fp)).is_ok());
                let mut other = fp.0;
                other[0] ^= 1;
                assert!(ClassPaths::from_bytes(bytes, Some(other.into())).is_err());
                for class in 0..cp.classes().min(64) as u32 {
                    let cursor = std::io::Cursor::new(bytes);
                    let one = ClassPaths::read_class_from(cursor, class, Some(fp))
                        .unwrap_or_else(|e| panic!("reading class {class} of a good file: {e}"));
                    assert_eq!(one.as_ref(), cp.path_set().get(class), "read_class agrees");
                }
                let mut twice = cp.clone();
                twice
                    .merge(&cp)
                    .unwrap_or_else(|e| panic!("merging a file with itself: {e}"));
                assert_eq!(twice.path_set(), cp.path_set(), "union is idempotent");
            }
            Err(e) => {
                let _ = e.to_string();
                for class in 0..4 {
                    let cursor = std::io::Cursor::new(bytes);
                    if let Err(e) = ClassPaths::read_class_from(cursor, class, None) {
                        let _ = e.to_string();
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// detector JSON

/// Detector models from JSON (a bare model, or a guard detector file wrapping one): what loads
/// re-serialises to an equal model and scores a few rows (when it has at most 256 features)
/// without panicking or looping.
pub fn detector_json(data: &[u8]) {
    if let Ok(file) = effpath::guard::DetectorFile::from_json(data, "fuzz") {
        check_detector(&file.detector);
    }
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let model = match DetectorModel::from_json(json) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    check_detector(&model);
}

fn check_detector(model: &DetectorModel) {
    let again = model
        .to_json()
        .unwrap_or_else(|e| panic!("serialising a loaded model: {e}"));
    let back = DetectorModel::from_json(&again).unwrap_or_else(|e| panic!("reloading: {e}"));
    assert_eq!(&back, model);
    let n = model.n_features();
    if n <= 256 {
        let x = Array2::from_shape_fn((4, n), |(i, j)| (i * 7 + j * 3) as f64 / 5.0 - 1.0);
        let _ = model.score(&x);
        let wrong = Array2::<f64>::zeros((2, n + 1));
        assert!(
            model.score(&wrong).is_err(),
            "a row of the wrong width is an error"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// extract: random small networks

/// Reads the fuzz input as a stream of choices (zeros once it runs out).
struct Gen<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + usize::from(self.byte()) % (hi - lo + 1)
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A weight or input in [-4.25, 3.7], exactly 0 one time in 16, with many exact ties.
    fn value(&mut self) -> f32 {
        let b = self.byte();
        if b < 16 {
            0.0
        } else {
            (f32::from(b) - 136.0) / 32.0
        }
    }

    fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.value()).collect()
    }
}

/// A random small network and one input: up to 6 layers of conv (sometimes dilated), max/avg
/// pool, ReLU, batch norm, skip connection (Add), channel concatenation, global average
/// pooling, dense, an activation, a broadcast gate (Mul/Add/Sub/Div with a pooled sigmoid
/// branch), constant Pad and a channel Slice, then a
/// dense classifier (and sometimes a softmax). Returns the network, the input, and whether it
/// has a batch norm.
fn random_network(g: &mut Gen<'_>) -> Option<(Network, ArrayD<f32>, bool)> {
    let flat = g.byte().is_multiple_of(8);
    let input: Vec<usize> = if flat {
        vec![g.range(1, 16)]
    } else {
        vec![g.range(1, 3), g.range(1, 8), g.range(1, 8)]
    };
    let mut b = NetworkBuilder::new(input.clone());
    let mut x = b.input();
    let mut has_bn = false;
    let layers = g.range(0, 6);
    for _ in 0..layers {
        let shape = b.shape(x)?.to_vec();
        let choice = g.range(0, 12);
        x = match (shape.as_slice(), choice) {
            (&[c, h, w], 0) => {
                let cout = g.range(1, 4);
                conv(g, &mut b, x, [c, h, w], cout, None)?
            }
            (&[c, h, w], 1 | 2) => {
                let k = [g.range(1, 2.min(h)), g.range(1, 2.min(w))];
                let stride = [g.range(1, 2), g.range(1, 2)];
                let pad = |g: &mut Gen<'_>, k: usize| if k > 1 { g.range(0, 1) } else { 0 };
                let win = Window2d {
                    kernel: k,
                    stride,
                    pads_begin: [pad(g, k[0]), pad(g, k[1])],
                    pads_end: [pad(g, k[0]), pad(g, k[1])],
                };
                let _ = c;
                if choice == 1 {
                    b.max_pool(x, win).ok()?
                } else {
                    let include = g.flag();
                    b.avg_pool(x, win, include).ok()?
                }
            }
            (_, 3) => b.relu(x).ok()?,
            (&[c, ..], 4) => {
                has_bn = true;
                let var = (0..c)
                    .map(|_| f32::from(g.byte()) / 64.0 + 0.01)
                    .collect::<Vec<_>>();
                let bn = BatchNorm {
                    gamma: Array1::from(g.values(c)),
                    beta: Array1::from(g.values(c)),
                    mean: Array1::from(g.values(c)),
                    var: Array1::from(var),
                    epsilon: 1e-5,
                };
                b.batch_norm(x, bn).ok()?
            }
            (&[c, h, w], 5) => {
                // Skip connection: x + relu(x), or x + a same-shape convolution.
                let branch = if g.flag() {
                    b.relu(x).ok()?
                } else {
                    conv(g, &mut b, x, [c, h, w], c, Some([1, 1]))?
                };
                b.add(&[x, branch]).ok()?
            }
            (&[c, h, w], 6) if c <= 6 => {
                let extra = g.range(1, 2);
                let branch = conv(g, &mut b, x, [c, h, w], extra, Some([1, 1]))?;
                b.concat(&[x, branch], 0).ok()?
            }
            (&[_, _, _], 7) => b.global_avg_pool(x).ok()?,
            (_, 9) => {
                let c = shape[0];
                b.push(Op::Activation(random_activation(g, c)), &[x]).ok()?
            }
            (&[_, _, _], 10) => {
                // A squeeze-excitation style gate or a broadcast add/sub of a pooled branch.
                let pooled = b.global_avg_pool(x).ok()?;
                let gate = b
                    .push(Op::Activation(Activation::Sigmoid), &[pooled])
                    .ok()?;
                let op = [Binary::Mul, Binary::Add, Binary::Sub, Binary::Div][g.range(0, 3)];
                // Never divide by the ungated tensor (it may be 0).
                let (p, q) = if g.flag() || op == Binary::Div {
                    (x, gate)
                } else {
                    (gate, x)
                };
                b.push(Op::Binary(op), &[p, q]).ok()?
            }
            (&[_, _, _], 11) => {
                let pad = Pad {
                    begin: vec![0, g.range(0, 2), g.range(0, 2)],
                    end: vec![g.range(0, 1), g.range(0, 2), g.range(0, 2)],
                    value: g.value(),
                };
                b.push(Op::Pad(pad), &[x]).ok()?
            }
            (&[c, ..], 12) if c >= 2 => {
                let step = g.range(1, 2);
                let start = g.range(0, 1);
                let len = (c - start).div_ceil(step);
                let s = Slice {
                    axis: 0,
                    start,
                    step,
                    len,
                };
                b.push(Op::Slice(s), &[x]).ok()?
            }
            _ => {
                let x = if shape.len() == 1 {
                    x
                } else {
                    b.flatten(x).ok()?
                };
                let n_in = b.shape(x)?[0];
                let n_out = g.range(1, 8);
                dense(g, &mut b, x, n_in, n_out)?
            }
        };
    }
    let x = if b.shape(x)?.len() == 1 {
        x
    } else {
        b.flatten(x).ok()?
    };
    let n_in = b.shape(x)?[0];
    let classes = g.range(2, 5);
    let mut y = dense(g, &mut b, x, n_in, classes)?;
    if g.byte().is_multiple_of(4) {
        y = b.softmax(y).ok()?;
    }
    let net = b
        .finish(y)
        .unwrap_or_else(|e| panic!("a well-formed random network: {e}"));
    let mut shape = vec![1];
    shape.extend_from_slice(&input);
    let n = shape.iter().product();
    let input = ArrayD::from_shape_vec(IxDyn(&shape), g.values(n)).ok()?;
    Some((net, input, has_bn))
}

/// A convolution with `cout` output channels (kernel `fixed`, or random with stride and padding;
/// random groups).
fn conv(
    g: &mut Gen<'_>,
    b: &mut NetworkBuilder,
    x: ValueId,
    [c, h, w]: [usize; 3],
    cout: usize,
    fixed: Option<[usize; 2]>,
) -> Option<ValueId> {
    let (kernel, stride, pads) = match fixed {
        Some(k) => (k, [1, 1], [0, 0, 0, 0]),
        None => {
            let pads = [g.range(0, 1), g.range(0, 1), g.range(0, 1), g.range(0, 1)];
            let kh = g.range(1, 3.min(h + pads[0] + pads[2]));
            let kw = g.range(1, 3.min(w + pads[1] + pads[3]));
            ([kh, kw], [g.range(1, 2), g.range(1, 2)], pads)
        }
    };
    let divisors: Vec<usize> = (1..=c)
        .filter(|&d| c.is_multiple_of(d) && cout.is_multiple_of(d))
        .collect();
    let groups = divisors[g.range(0, divisors.len() - 1)];
    let n = cout * (c / groups) * kernel[0] * kernel[1];
    let weight =
        Array4::from_shape_vec((cout, c / groups, kernel[0], kernel[1]), g.values(n)).ok()?;
    let bias = g.flag().then(|| Array1::from(g.values(cout)));
    let conv = Conv2d {
        weight,
        bias,
        window: Window2d {
            kernel,
            stride,
            pads_begin: [pads[0], pads[1]],
            pads_end: [pads[2], pads[3]],
        },
        dilation: if fixed.is_none() && g.byte().is_multiple_of(4) {
            [g.range(1, 2), g.range(1, 2)]
        } else {
            [1, 1]
        },
        groups,
    };
    b.conv2d(x, conv).ok()
}

/// One of the activations of [`Activation`], with random parameters where it has some.
fn random_activation(g: &mut Gen<'_>, channels: usize) -> Activation {
    match g.range(0, 12) {
        0 => {
            let (a, b) = (g.value(), g.value());
            Activation::Clip {
                min: a.min(b),
                max: a.max(b),
            }
        }
        1 => Activation::LeakyRelu(g.value()),
        2 => {
            let n = if g.flag() { channels } else { 1 };
            Activation::Prelu(Array1::from(g.values(n)))
        }
        3 => Activation::Elu(g.value()),
        4 => Activation::Selu {
            alpha: g.value(),
            gamma: g.value(),
        },
        5 => Activation::Sigmoid,
        6 => Activation::HardSigmoid {
            alpha: g.value(),
            beta: g.value(),
        },
        7 => Activation::HardSwish,
        8 => Activation::Tanh,
        9 => Activation::Softplus,
        10 => Activation::Gelu { tanh: g.flag() },
        11 => Activation::Erf,
        _ => Activation::Silu,
    }
}

fn dense(
    g: &mut Gen<'_>,
    b: &mut NetworkBuilder,
    x: ValueId,
    n_in: usize,
    n_out: usize,
) -> Option<ValueId> {
    let weight = Array2::from_shape_vec((n_out, n_in), g.values(n_in * n_out)).ok()?;
    let bias = g.flag().then(|| Array1::from(g.values(n_out)));
    b.dense(x, weight, bias).ok()
}

/// Random options (θ, seed, threshold base, partial extraction) for `classes` classes, and a
/// second θ ≥ the first.
fn random_options(g: &mut Gen<'_>, classes: usize) -> (ExtractOptions, f64) {
    let theta = (f64::from(g.byte()) + 1.0) / 256.0;
    let theta2 = theta + (1.0 - theta) * f64::from(g.byte()) / 255.0;
    let seed = match g.range(0, 3) {
        0 | 1 => Seed::Rank(1),
        2 => Seed::Rank(2.min(classes)),
        _ => Seed::Class(g.range(0, classes - 1)),
    };
    let mut o = ExtractOptions::default().with_theta(theta).with_seed(seed);
    if g.flag() {
        o = o.with_threshold_base(ThresholdBase::Output);
    }
    if g.byte().is_multiple_of(4) {
        o = o.with_last_layers(g.range(1, 3));
    }
    (o, theta2.min(1.0))
}

/// A random small network, one input, forward + extraction, and the invariants:
/// the seed is the only kept logit, every kept synapse's output neuron is kept, the weights are
/// exactly those of the kept synapses, extraction is deterministic and does not depend on the
/// rest of the batch, and (without batch norm) a larger θ keeps a superset.
pub fn extract(data: &[u8]) {
    let mut g = Gen { data, pos: 0 };
    let option_bytes: Vec<u8> = (0..8).map(|_| g.byte()).collect();
    let Some((net, x, has_bn)) = random_network(&mut g) else {
        return;
    };
    let mut og = Gen {
        data: &option_bytes,
        pos: 0,
    };
    let (o1, theta2) = random_options(&mut og, net.num_classes());
    let ex = Extractor::new(&net, o1).unwrap_or_else(|e| panic!("valid options {o1:?}: {e}"));
    let e1 = match ex.extract(&x) {
        Ok(e) => e,
        Err(ExtractError::NonFinite { .. }) => return,
        Err(e) => panic!("extraction of a finite input: {e}"),
    };
    check_extraction(&net, ex.space(), &e1);
    assert_eq!(
        ex.extract(&x).ok().as_ref(),
        Some(&e1),
        "extraction is deterministic"
    );

    // The same sample in a batch of two gives the same path.
    let other = x.mapv(|v| 0.5 - v);
    let views = [x.view(), other.view()];
    let batch = effpath::ndarray::concatenate(Axis(0), &views).expect("same shapes");
    let both = ex
        .extract_batch(&batch)
        .unwrap_or_else(|e| panic!("batch extraction: {e}"));
    assert_eq!(
        both[0], e1,
        "a sample's path does not depend on the rest of its batch"
    );

    if !has_bn {
        let o2 = o1.with_theta(theta2);
        let e2 = Extractor::new(&net, o2)
            .and_then(|ex2| ex2.extract(&x))
            .unwrap_or_else(|e| panic!("extraction at θ = {theta2}: {e}"));
        check_extraction(&net, ex.space(), &e2);
        assert_eq!(e2.seed_class, e1.seed_class);
        let subset = e1.path.is_subset(&e2.path).expect("same space");
        assert!(subset, "θ {} ⊆ θ {theta2} (options {o1:?})", o1.theta);
    }
}

/// The invariants of one extracted path (see [`extract`]).
fn check_extraction(net: &Network, space: &Arc<effpath::algebra::PathSpace>, e: &Extraction) {
    let ns = NetworkSpace::new(net).expect("the network's space");
    assert_eq!(ns.space().as_ref(), space.as_ref());
    let classes = net.num_classes();
    assert!(e.seed_class < classes && e.predicted < classes);
    if let Some(layer) = net.logits().producer().and_then(|n| ns.layer_of_node(n)) {
        let kept: Vec<usize> = e.path.layers()[layer]
            .iter_ones(ElementKind::Neuron)
            .collect();
        assert_eq!(kept, [e.seed_class], "the seed is the only kept logit");
    }
    for (l, (lp, ls)) in e.path.layers().iter().zip(space.layers()).enumerate() {
        let neurons = ls.neurons();
        let synapses = ls.synapses();
        let mut implied = std::collections::BTreeSet::new();
        for s in lp.iter_ones(ElementKind::Synapse) {
            let out = match ls.kind() {
                LayerKind::GlobalAvgPool => s / (synapses / neurons),
                _ => s % neurons,
            };
            assert!(
                lp.contains(ElementKind::Neuron, out),
                "layer {l} (`{}`): synapse {s} is kept but its output neuron {out} is not",
                ls.name()
            );
            let idx = ls.unravel(ElementKind::Synapse, s).expect("in range");
            let weight = match ls.kind() {
                // (n_in, n_out) → (n_out, n_in)
                LayerKind::Dense => Some(vec![idx[1], idx[0]]),
                // (cg, kh, kw, c_out, oh, ow) → (c_out, cg, kh, kw)
                LayerKind::Conv2d => Some(vec![idx[3], idx[0], idx[1], idx[2]]),
                _ => None,
            };
            if let Some(w) = weight {
                implied.insert(ls.ravel(ElementKind::Weight, &w).expect("weight in range"));
            }
        }
        let weights: std::collections::BTreeSet<usize> =
            lp.iter_ones(ElementKind::Weight).collect();
        assert_eq!(
            weights,
            implied,
            "layer {l} (`{}`): the weights are those of the kept synapses",
            ls.name()
        );
    }
}
