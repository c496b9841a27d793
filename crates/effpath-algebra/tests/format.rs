//! The binary format: exact layout, and one test per rejection reason.

use std::io::{self, Write};
use std::sync::Arc;

use effpath_algebra::format::{CONTENT_PATH, CONTENT_PATH_SET, FORMAT_VERSION, MAGIC};
use effpath_algebra::{AlgebraError, ElementKind, LayerSpace, Path, PathSet, PathSpace};
use sha2::{Digest, Sha256};

fn space() -> Arc<PathSpace> {
    let fc = LayerSpace::dense("fc", 3, 2).expect("valid layer");
    Arc::new(PathSpace::new([0xab; 32], vec![fc]).expect("valid space"))
}

fn sample_path() -> Path {
    let mut p = Path::empty(&space());
    p.insert_neuron(0, 1).expect("in range");
    p.insert_many(0, ElementKind::Synapse, &[0, 5])
        .expect("in range");
    p.insert_weight(0, 4).expect("in range");
    p
}

/// Offsets in the files of `space()`.
const PATH_COUNT_AT: usize = 102;
const FIRST_LABEL_AT: usize = 110;
const FIRST_WORD_AT: usize = 114;

/// Recompute the trailing SHA-256 after an edit.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 32;
    let digest = Sha256::digest(&bytes[..n]);
    bytes[n..].copy_from_slice(&digest);
}

#[test]
fn layout_is_exactly_as_documented() {
    let bytes = sample_path().to_bytes();
    let mut expected = Vec::new();
    expected.extend_from_slice(b"EFPATH\0\x01");
    expected.extend_from_slice(&1u32.to_le_bytes()); // version
    expected.extend_from_slice(&1u32.to_le_bytes()); // content: single path
    expected.extend_from_slice(&[0xab; 32]);
    expected.extend_from_slice(&1u32.to_le_bytes()); // one layer
    expected.extend_from_slice(&2u32.to_le_bytes());
    expected.extend_from_slice(b"fc");
    expected.push(0); // Dense
    for shape in [&[2u64][..], &[3, 2], &[2, 3]] {
        expected.push(shape.len() as u8);
        shape
            .iter()
            .for_each(|d| expected.extend_from_slice(&d.to_le_bytes()));
    }
    assert_eq!(expected.len(), PATH_COUNT_AT);
    expected.extend_from_slice(&1u64.to_le_bytes()); // one path
    expected.extend_from_slice(&0u32.to_le_bytes()); // label 0
    assert_eq!(expected.len(), FIRST_WORD_AT);
    for word in [0b10u64, 0b10_0001, 0b1_0000] {
        expected.extend_from_slice(&word.to_le_bytes());
    }
    expected.extend_from_slice(&Sha256::digest(&expected));
    assert_eq!(bytes, expected);
    assert_eq!(
        (MAGIC, FORMAT_VERSION, CONTENT_PATH, CONTENT_PATH_SET),
        (*b"EFPATH\0\x01", 1, 1, 2)
    );
}

#[test]
fn bad_magic() {
    let mut bytes = sample_path().to_bytes();
    bytes[0] = b'X';
    let e = Path::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(e, AlgebraError::BadMagic { found, .. } if &found[..] == b"XFPATH\0\x01"),
        "{e}"
    );
}

#[test]
fn newer_and_older_versions_are_named() {
    for (v, word) in [(2u32, "newer"), (0, "older")] {
        let mut bytes = sample_path().to_bytes();
        bytes[8..12].copy_from_slice(&v.to_le_bytes());
        let e = Path::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(e, AlgebraError::UnsupportedVersion { found, supported: 1 } if found == v)
        );
        let msg = e.to_string();
        assert!(
            msg.contains(word) && msg.contains(&v.to_string()) && msg.contains("(1)"),
            "{msg}"
        );
    }
}

#[test]
fn wrong_content_kind() {
    let set = PathSet::from_paths(&space(), [(3, sample_path())]).unwrap();
    let e = Path::from_bytes(&set.to_bytes()).unwrap_err();
    assert!(
        matches!(
            e,
            AlgebraError::WrongContent {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        PathSet::from_bytes(&sample_path().to_bytes()),
        Err(AlgebraError::WrongContent { .. })
    ));
}

#[test]
fn fingerprint_and_space_checks() {
    let bytes = sample_path().to_bytes();
    let e = Path::load_checked(&bytes, [0xac; 32]).unwrap_err();
    assert!(matches!(e, AlgebraError::FingerprintMismatch { .. }));
    assert!(e.to_string().contains(&"ab".repeat(32)));
    let other =
        Arc::new(PathSpace::new([0xab; 32], vec![LayerSpace::dense("fc", 3, 3).unwrap()]).unwrap());
    assert!(matches!(
        Path::load_in_space(&bytes, &other),
        Err(AlgebraError::SpaceMismatch { .. })
    ));
    let s = space();
    let p = Path::load_in_space(&bytes, &s).unwrap();
    assert!(Arc::ptr_eq(p.space(), &s));
    assert_eq!(p, sample_path());
}

#[test]
fn every_truncation_is_a_truncated_error() {
    let set =
        PathSet::from_paths(&space(), [(1, sample_path()), (2, Path::full(&space()))]).unwrap();
    let bytes = set.to_bytes();
    for n in 0..bytes.len() {
        let e = PathSet::from_bytes(&bytes[..n]).unwrap_err();
        assert!(
            matches!(e, AlgebraError::Truncated { .. }),
            "cut at {n}: {e}"
        );
        let e = PathSet::read_from(&bytes[..n]).unwrap_err();
        assert!(
            matches!(e, AlgebraError::Truncated { .. }),
            "stream cut at {n}: {e}"
        );
    }
    let e = PathSet::from_bytes(&bytes[..FIRST_WORD_AT])
        .unwrap_err()
        .to_string();
    assert!(e.contains("declared"), "{e}");
}

#[test]
fn checksum_trailing_bytes_and_padding() {
    let mut bytes = sample_path().to_bytes();
    bytes[FIRST_WORD_AT] ^= 0b100; // neuron 2 does not exist: a padding bit
    let e = Path::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(e, AlgebraError::ChecksumMismatch { offset, .. } if offset as usize == bytes.len() - 32),
        "{e}"
    );
    reseal(&mut bytes);
    let e = Path::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(
            e,
            AlgebraError::NonZeroPadding {
                label: 0,
                layer: 0,
                kind: ElementKind::Neuron
            }
        ),
        "{e}"
    );

    let mut long = sample_path().to_bytes();
    long.extend_from_slice(&[0, 0, 0]);
    assert!(matches!(
        Path::from_bytes(&long),
        Err(AlgebraError::TrailingBytes { count: 3, .. })
    ));
}

#[test]
fn header_caps_and_malformed_fields() {
    let good = sample_path().to_bytes();
    let edit = |at: usize, with: &[u8]| {
        let mut b = good.clone();
        b[at..at + with.len()].copy_from_slice(with);
        Path::from_bytes(&b).unwrap_err()
    };
    assert!(matches!(
        edit(48, &u32::MAX.to_le_bytes()),
        AlgebraError::TooLarge {
            what: "layer count",
            ..
        }
    ));
    assert!(matches!(
        edit(52, &u32::MAX.to_le_bytes()),
        AlgebraError::TooLarge {
            what: "layer name length",
            ..
        }
    ));
    assert!(
        matches!(edit(56, &[0xff]), AlgebraError::Malformed { .. }),
        "invalid UTF-8"
    );
    assert!(
        matches!(edit(58, &[99]), AlgebraError::Malformed { offset: 59, .. }),
        "kind code"
    );
    assert!(
        matches!(edit(58, &[2]), AlgebraError::Malformed { .. }),
        "pool with weights"
    );
    assert!(matches!(
        edit(59, &[9]),
        AlgebraError::TooLarge {
            what: "shape rank",
            ..
        }
    ));
    assert!(matches!(
        edit(PATH_COUNT_AT, &u64::MAX.to_le_bytes()),
        AlgebraError::TooLarge {
            what: "path count",
            ..
        }
    ));
    assert!(matches!(
        edit(PATH_COUNT_AT, &2u64.to_le_bytes()),
        AlgebraError::Malformed { .. }
    ));
    assert!(matches!(
        edit(FIRST_LABEL_AT, &7u32.to_le_bytes()),
        AlgebraError::Malformed { .. }
    ));
    // A dimension of 2^36 (within the per-space cap) over a tiny file: refused before
    // allocating for byte slices; streamed reads allocate only as data arrives.
    let e = edit(60, &(1u64 << 36).to_le_bytes());
    assert!(matches!(e, AlgebraError::Truncated { .. }), "{e}");
    let mut b = good.clone();
    b[60..68].copy_from_slice(&(1u64 << 36).to_le_bytes());
    assert!(matches!(
        Path::read_from(&b[..]),
        Err(AlgebraError::Truncated { .. })
    ));
    b[60..68].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(
        matches!(Path::from_bytes(&b), Err(AlgebraError::Malformed { .. })),
        "size overflow"
    );
}

#[test]
fn labels_must_be_unique_and_ascending() {
    let set = PathSet::from_paths(&space(), [(1, sample_path()), (2, sample_path())]).unwrap();
    let good = set.to_bytes();
    let second_label_at = FIRST_LABEL_AT + 28;
    let mut b = good.clone();
    b[second_label_at..second_label_at + 4].copy_from_slice(&1u32.to_le_bytes());
    assert!(matches!(
        PathSet::from_bytes(&b),
        Err(AlgebraError::DuplicateLabel { label: 1 })
    ));
    b[second_label_at..second_label_at + 4].copy_from_slice(&0u32.to_le_bytes());
    assert!(matches!(
        PathSet::from_bytes(&b),
        Err(AlgebraError::Malformed { .. })
    ));
}

#[test]
fn write_errors_are_io_errors() {
    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    assert!(matches!(
        sample_path().write_to(Failing),
        Err(AlgebraError::Io(_))
    ));
    let mut file = Vec::new();
    sample_path().write_to(&mut file).unwrap();
    assert_eq!(
        Path::read_from(io::Cursor::new(file)).unwrap(),
        sample_path()
    );
}

#[test]
fn large_path_round_trips() {
    let s = Arc::new(
        PathSpace::new(
            [1; 32],
            vec![
                LayerSpace::conv2d("conv", 16, 32, 1, [3, 3], [30, 30]).unwrap(),
                LayerSpace::avg_pool2d("pool", 32, [2, 2], [15, 15]).unwrap(),
                LayerSpace::global_avg_pool("gap", [32, 15, 15]).unwrap(),
                LayerSpace::dense("fc", 32, 10).unwrap(),
            ],
        )
        .unwrap(),
    );
    let mut p = Path::empty(&s);
    let n = s.layers()[0].synapses();
    let idx: Vec<usize> = (0..n).step_by(7).collect();
    p.insert_many(0, ElementKind::Synapse, &idx).unwrap();
    p.insert_many(2, ElementKind::Synapse, &[0, 7199]).unwrap();
    let bytes = p.to_bytes();
    assert!(bytes.len() > n / 8);
    assert_eq!(Path::from_bytes(&bytes).unwrap(), p);
    assert_eq!(Path::read_from(&bytes[..]).unwrap(), p);
}
