//! Stable replay of the fuzz targets: every file of `fuzz/corpus/<target>/` and of
//! `fuzz/artifacts-reproducers/<target>/` (crash reproducers, kept once fixed) is run through
//! the same target function as the cargo-fuzz binary (`fuzz/targets.rs`), so that the
//! decoders' totality is checked on every `cargo test` without nightly.
//!
//! `cargo test -p effpath --release --test fuzz_replay -- --ignored write_seed_corpus`
//! regenerates the library-made seed files (see `docs/fuzzing.md`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../../fuzz/targets.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none if the folder does not exist).
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut out: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// Runs `target` on every corpus file and reproducer; fails listing every file that panicked.
fn replay(name: &str) {
    let (_, body) = targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a known target");
    let corpus = files("corpus", name);
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{name}/ has no seed files (run the ignored test write_seed_corpus)"
    );
    let reproducers = files("artifacts-reproducers", name);
    let mut failures = Vec::new();
    for path in corpus.iter().chain(&reproducers) {
        let bytes = std::fs::read(path).expect("readable corpus file");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(&bytes))) {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {msg}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs of target `{name}` failed:\n{}",
        failures.len(),
        corpus.len() + reproducers.len(),
        failures.join("\n")
    );
    eprintln!(
        "{name}: {} corpus files and {} reproducers replayed",
        corpus.len(),
        reproducers.len()
    );
}

#[test]
fn replay_onnx() {
    replay("onnx");
}

#[test]
fn replay_idx() {
    replay("idx");
}

#[test]
fn replay_npy() {
    replay("npy");
}

#[test]
fn replay_path_file() {
    replay("path_file");
}

#[test]
fn replay_class_file() {
    replay("class_file");
}

#[test]
fn replay_detector_json() {
    replay("detector_json");
}

#[test]
fn replay_extract() {
    replay("extract");
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in targets::TARGETS {
        let bin = fuzz_dir().join(format!("fuzz_targets/{name}.rs"));
        assert!(bin.is_file(), "{} is missing", bin.display());
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name} is not a [[bin]]"
        );
    }
}

/// Writes the seed files made with the library (the ONNX seeds copied from the repository's
/// models are included too). Run after a format change; commit the result.
#[test]
#[ignore = "regenerates fuzz/corpus seed files"]
fn write_seed_corpus() {
    seeds::write_all(&fuzz_dir().join("corpus"));
}

mod seeds {
    use std::io::Write;
    use std::path::Path;
    use std::sync::Arc;

    use effpath::algebra::{ElementKind, LayerSpace, PathSet, PathSpace};
    use effpath::data::{Mnist, Normalization, encode_npy};
    use effpath::extract::{ProfileOptions, Seed};
    use effpath::ir::{BatchNorm, Conv2d, Lrn, NetworkBuilder, Window2d, zoo};
    use effpath::ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};
    use effpath::{
        ClassPaths, Detector, DetectorKind, DetectorModel, ExtractOptions, Extractor, Network, onnx,
    };

    fn put(dir: &Path, name: &str, bytes: &[u8]) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    pub fn write_all(corpus: &Path) {
        onnx_seeds(&corpus.join("onnx"));
        idx_seeds(&corpus.join("idx"));
        npy_seeds(&corpus.join("npy"));
        path_seeds(&corpus.join("path_file"));
        class_seeds(&corpus.join("class_file"));
        detector_seeds(&corpus.join("detector_json"));
        extract_seeds(&corpus.join("extract"));
    }

    /// A small network with every op effpath exports: conv (grouped, padded), batch norm, LRN,
    /// max/avg pooling, skip connection, concatenation, global pooling, dense, softmax.
    pub fn small_net() -> Network {
        let w = |n: usize, k: f32| {
            (0..n)
                .map(|i| ((i * 7 % 11) as f32 - 5.0) * k)
                .collect::<Vec<_>>()
        };
        let mut b = NetworkBuilder::new(vec![2, 6, 6]);
        let x = b.input();
        let c1 = b
            .conv2d(
                x,
                Conv2d::new(
                    Array4::from_shape_vec((4, 2, 3, 3), w(72, 0.1)).unwrap(),
                    Some(Array1::from(w(4, 0.01))),
                )
                .with_padding(1),
            )
            .unwrap();
        let bn = b
            .batch_norm(
                c1,
                BatchNorm {
                    gamma: Array1::from(vec![1.0, 0.5, 2.0, 1.5]),
                    beta: Array1::from(vec![0.1, -0.1, 0.0, 0.2]),
                    mean: Array1::from(vec![0.0, 0.1, -0.1, 0.0]),
                    var: Array1::from(vec![1.0, 0.5, 2.0, 1.0]),
                    epsilon: 1e-5,
                },
            )
            .unwrap();
        let r = b.relu(bn).unwrap();
        let l = b
            .lrn(
                r,
                Lrn {
                    size: 3,
                    alpha: 1e-4,
                    beta: 0.75,
                    bias: 1.0,
                },
            )
            .unwrap();
        let g = b
            .conv2d(
                l,
                Conv2d::new(
                    Array4::from_shape_vec((4, 2, 1, 1), w(8, 0.2)).unwrap(),
                    None,
                )
                .with_groups(2),
            )
            .unwrap();
        let s = b.add(&[l, g]).unwrap();
        let p = b.max_pool(s, Window2d::new([2, 2], [2, 2])).unwrap();
        let a = b.avg_pool(s, Window2d::new([2, 2], [2, 2]), false).unwrap();
        let cat = b.concat(&[p, a], 0).unwrap();
        let gp = b.global_avg_pool(cat).unwrap();
        let f = b.flatten(gp).unwrap();
        let d = b
            .dense(
                f,
                Array2::from_shape_vec((3, 8), w(24, 0.3)).unwrap(),
                Some(Array1::from(w(3, 0.1))),
            )
            .unwrap();
        let y = b.softmax(d).unwrap();
        b.finish(y).unwrap()
    }

    fn onnx_seeds(dir: &Path) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let conf = repo.join("crates/effpath-ir/tests/data/onnx-conformance");
        for entry in std::fs::read_dir(conf.join("light")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "onnx") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                put(dir, &name, &std::fs::read(&path).unwrap());
            }
        }
        for folder in ["pytorch-converted", "pytorch-operator"] {
            for entry in std::fs::read_dir(conf.join(folder)).unwrap() {
                let case = entry.unwrap().path();
                let model = case.join("model.onnx");
                if model.is_file() {
                    let name = format!("{}.onnx", case.file_name().unwrap().to_string_lossy());
                    put(dir, &name, &std::fs::read(&model).unwrap());
                }
            }
        }
        put(
            dir,
            "lenet5-mnist.onnx",
            &std::fs::read(repo.join("crates/effpath/models/lenet5-mnist.onnx")).unwrap(),
        );
        put(dir, "effpath-small-net.onnx", &onnx::to_bytes(&small_net()));
        let normalized = small_net()
            .with_input_normalization(Some([0.5, 0.25]))
            .unwrap();
        put(
            dir,
            "effpath-small-net-normalized.onnx",
            &onnx::to_bytes(&normalized),
        );
    }

    fn idx_file(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    fn idx_seeds(dir: &Path) {
        let train = Mnist::embedded_train().unwrap();
        for n in [1usize, 5] {
            let labels: Vec<u8> = train.labels()[..n]
                .iter()
                .map(|&l| u8::try_from(l).unwrap())
                .collect();
            let images: Vec<u8> = train
                .images()
                .slice_axis(effpath::ndarray::Axis(0), (0..n).into())
                .iter()
                .copied()
                .collect();
            let l = idx_file(0x801, &[n as u32], &labels);
            let i = idx_file(0x803, &[n as u32, 28, 28], &images);
            for (name, l, i) in [
                ("plain", l.clone(), i.clone()),
                ("gzip", gzip(&l), gzip(&i)),
            ] {
                let mut seed = (l.len() as u16).to_le_bytes().to_vec();
                seed.extend(&l);
                seed.extend(&i);
                put(dir, &format!("mnist-first{n}-{name}.bin"), &seed);
            }
        }
        // Tiny 2×3 images and a file with trailing bytes.
        let l = idx_file(0x801, &[2], &[3, 9]);
        let i = idx_file(
            0x803,
            &[2, 2, 3],
            &[0, 50, 100, 150, 200, 250, 1, 2, 3, 4, 5, 6],
        );
        let mut seed = (l.len() as u16).to_le_bytes().to_vec();
        seed.extend(&l);
        seed.extend(&i);
        put(dir, "tiny-2x3.bin", &seed);
        seed.push(0);
        put(dir, "tiny-2x3-trailing.bin", &seed);
    }

    fn npy_seeds(dir: &Path) {
        let f = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |d| d[0] as f32 - 0.5 * d[1] as f32);
        put(dir, "f32-2x3.npy", &encode_npy(&f).unwrap());
        let f4 = ArrayD::from_shape_fn(IxDyn(&[1, 1, 2, 2]), |d| (d[2] * 2 + d[3]) as f32 / 3.0);
        put(dir, "f32-1x1x2x2.npy", &encode_npy(&f4).unwrap());
        let scalar = ArrayD::from_elem(IxDyn(&[]), 7.5f32);
        put(dir, "f32-scalar.npy", &encode_npy(&scalar).unwrap());
        let empty = ArrayD::<f32>::zeros(IxDyn(&[0, 4]));
        put(dir, "f32-empty.npy", &encode_npy(&empty).unwrap());
        let i = ArrayD::from_shape_fn(IxDyn(&[5]), |d| d[0] as i64 * -3);
        put(dir, "i64-5.npy", &encode_npy(&i).unwrap());
        let u = ArrayD::from_shape_fn(IxDyn(&[2, 2, 2]), |d| {
            (d[0] * 4 + d[1] * 2 + d[2]) as u8 * 30
        });
        put(dir, "u8-2x2x2.npy", &encode_npy(&u).unwrap());
        // Hand-written headers: big-endian, Fortran order, version 2.
        let header = |version: u8, dict: &str, data: &[u8]| {
            let mut h = dict.to_owned();
            let fixed = if version == 1 { 10 } else { 12 };
            while !(fixed + h.len() + 1).is_multiple_of(64) {
                h.push(' ');
            }
            h.push('\n');
            let mut out = b"\x93NUMPY".to_vec();
            out.extend([version, 0]);
            if version == 1 {
                out.extend((h.len() as u16).to_le_bytes());
            } else {
                out.extend((h.len() as u32).to_le_bytes());
            }
            out.extend(h.as_bytes());
            out.extend_from_slice(data);
            out
        };
        let be: Vec<u8> = [1.0f32, -2.0, 0.5]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        put(
            dir,
            "f32-big-endian.npy",
            &header(
                1,
                "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }",
                &be,
            ),
        );
        let fo: Vec<u8> = [1i64, 2, 3, 4, 5, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        put(
            dir,
            "i64-fortran.npy",
            &header(
                1,
                "{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }",
                &fo,
            ),
        );
        put(
            dir,
            "u8-v2.npy",
            &header(
                2,
                "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }",
                &[1, 2, 3, 4],
            ),
        );
    }

    fn tiny_space(fp: u8) -> Arc<PathSpace> {
        Arc::new(
            PathSpace::new(
                [fp; 32],
                vec![
                    LayerSpace::conv2d("conv", 1, 2, 1, [3, 3], [4, 4]).unwrap(),
                    LayerSpace::max_pool2d("pool", 2, [2, 2], [2, 2]).unwrap(),
                    LayerSpace::global_avg_pool("gap", [2, 2, 2]).unwrap(),
                    LayerSpace::dense("fc", 2, 3).unwrap(),
                ],
            )
            .unwrap(),
        )
    }

    fn path_seeds(dir: &Path) {
        let space = tiny_space(42);
        let mut p = effpath::Path::empty(&space);
        p.insert_many(0, ElementKind::Synapse, &[0, 5, 9, 100])
            .unwrap();
        p.insert_many(3, ElementKind::Neuron, &[1]).unwrap();
        p.insert_many(3, ElementKind::Weight, &[2, 3]).unwrap();
        put(dir, "tiny-path.bin", &p.to_bytes());
        put(
            dir,
            "tiny-empty-path.bin",
            &effpath::Path::empty(&space).to_bytes(),
        );
        let set = PathSet::from_paths(&space, [(0, p.clone()), (7, effpath::Path::full(&space))])
            .unwrap();
        put(dir, "tiny-set.bin", &set.to_bytes());
        // Format v2 with compressed sets: forced on a small space, mixed in one set, and
        // chosen by count on a larger one.
        use effpath::algebra::Representation;
        let sparse = p.clone().with_representation(Representation::Sparse);
        put(dir, "tiny-path-sparse.bin", &sparse.to_bytes());
        let mixed = PathSet::from_paths(
            &space,
            [
                (1, sparse),
                (2, p.clone().with_representation(Representation::Dense)),
                (9, effpath::Path::empty(&space)),
            ],
        )
        .unwrap();
        put(dir, "tiny-set-mixed.bin", &mixed.to_bytes());
        let wide = Arc::new(
            PathSpace::new(
                [43; 32],
                vec![
                    LayerSpace::dense("fc1", 100, 80).unwrap(),
                    LayerSpace::dense("fc2", 80, 10).unwrap(),
                ],
            )
            .unwrap(),
        );
        let classes = (0..3u32).map(|c| {
            let mut q = effpath::Path::empty(&wide);
            let c = c as usize;
            q.insert_many(0, ElementKind::Synapse, &[c, 70 * c + 5, 7999])
                .unwrap();
            q.insert_many(0, ElementKind::Weight, &[c * 1000, 7000 + c])
                .unwrap();
            q.insert_many(
                1,
                ElementKind::Synapse,
                &(0..800).step_by(c + 1).collect::<Vec<_>>(),
            )
            .unwrap();
            (c as u32, q)
        });
        let wide_set = PathSet::from_paths(&wide, classes).unwrap();
        put(dir, "wide-sparse-set.bin", &wide_set.to_bytes());
        let net = small_net();
        let x = ArrayD::from_shape_fn(IxDyn(&[1, 2, 6, 6]), |d| {
            ((d[1] + d[2] * 3 + d[3]) % 5) as f32 / 5.0
        });
        let path = effpath::extract_path(&net, &x, 0.5).unwrap();
        put(dir, "small-net-path.bin", &path.to_bytes());
    }

    fn class_seeds(dir: &Path) {
        let net = small_net();
        let x = ArrayD::from_shape_fn(IxDyn(&[12, 2, 6, 6]), |d| {
            ((d[0] * 3 + d[1] + d[2] * d[3]) % 7) as f32 / 7.0
        });
        let labels: Vec<usize> = net
            .predict(&x)
            .unwrap()
            .rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold(0, |b, (i, v)| if *v > r[b] { i } else { b })
            })
            .collect();
        let cp =
            ClassPaths::profile(&net, &x, &labels, &ProfileOptions::default(), |_, _| {}).unwrap();
        put(dir, "small-net-classes.bin", &cp.to_bytes());
        let options = ProfileOptions {
            extract: ExtractOptions::default()
                .with_theta(0.3)
                .with_seed(Seed::Class(1))
                .with_last_layers(1),
            per_class_cap: Some(2),
            batch_size: 5,
        };
        let all_one = vec![1; labels.len()];
        let cp = ClassPaths::profile(&net, &x, &all_one, &options, |_, _| {}).unwrap();
        put(dir, "small-net-classes-options.bin", &cp.to_bytes());
        // A class-path file of LeNet-5 on 3 MNIST digits (bigger layers).
        let lenet = zoo::lenet5(0);
        let data = Mnist::embedded_test().unwrap();
        let x = data
            .to_tensor(0..3, Normalization::MNIST)
            .unwrap()
            .into_dyn();
        let ex = Extractor::new(&lenet, ExtractOptions::default()).unwrap();
        let paths: Vec<(usize, effpath::Path)> = ex
            .extract_batch(&x)
            .unwrap()
            .into_iter()
            .map(|e| (e.predicted, e.path))
            .collect();
        let cp = ClassPaths::from_paths(ex.space(), 10, ex.checked_options(), paths).unwrap();
        put(dir, "lenet5-3-digits.bin", &cp.to_bytes());
    }

    fn detector_seeds(dir: &Path) {
        let x = Array2::from_shape_fn((16, 4), |(i, j)| {
            ((i * 5 + j * 3) % 7) as f64 / 7.0 + if i >= 8 { 0.5 } else { 0.0 }
        });
        let y: Vec<bool> = (0..16).map(|i| i >= 8).collect();
        for kind in DetectorKind::ALL {
            let model = DetectorModel::fit(&kind.config(3), &x, &y).unwrap();
            put(
                dir,
                &format!("{}.json", kind.name()),
                model.to_json().unwrap().as_bytes(),
            );
            if matches!(kind, DetectorKind::Linear | DetectorKind::AdaBoost) {
                let names = (0..4).map(|i| format!("f{i}")).collect();
                let normal = x
                    .slice_axis(effpath::ndarray::Axis(0), (0..8).into())
                    .to_owned();
                let file = effpath::guard::DetectorFile::new(
                    effpath::ir::Fingerprint([0; 32]),
                    effpath::extract::FeatureOptions::default(),
                    names,
                    model,
                    &normal,
                    0.05,
                )
                .unwrap();
                let json = serde_json::to_vec(&file).unwrap();
                put(dir, &format!("guard-{}.json", kind.name()), &json);
            }
        }
    }

    fn extract_seeds(dir: &Path) {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for (i, len) in [16usize, 64, 256, 1024, 4096].into_iter().enumerate() {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect();
            put(dir, &format!("random-{i}-{len}.bin"), &bytes);
        }
    }
}

/// The `extract` target on 400 seeded pseudo-random inputs (networks with the ops of issue 11
/// — activations, broadcast gates, Pad, Slice, dilated convs — are drawn often enough that
/// every kind is exercised).
#[test]
fn extract_target_on_seeded_random_bytes() {
    let mut s = 0x5eed_u64;
    for _ in 0..400 {
        let bytes: Vec<u8> = (0..160)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 56) as u8
            })
            .collect();
        targets::extract(&bytes);
    }
}
