//! The binary format: exact v2 layout, one test per rejection reason, legacy v1 files, reading
//! one label of a path-set file, and the size of sparse paths.

mod v1_writer;

use std::io::{self, Cursor, Write};
use std::sync::Arc;

use effpath_algebra::format::{
    CONTENT_PATH, CONTENT_PATH_SET, FORMAT_VERSION, FORMAT_VERSION_V1, INDEX_ENTRY_BYTES, MAGIC,
    TAG_DENSE, TAG_SPARSE,
};
use effpath_algebra::{
    AlgebraError, BodyPart, ElementKind, FilePart, FormatIssue, IndexField, LayerSpace,
    LayerSpaceIssue, Path, PathSet, PathSetReader, PathSpace, Representation, SparseDefect,
};
use sha2::{Digest, Sha256};
use v1_writer::encode_v1;

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
const INDEX_AT: usize = 110;
/// The end of the header checksum (the first body) of a one-path file.
const BODY_AT: usize = INDEX_AT + 20 + 32;
/// The first set tag of a body.
const FIRST_TAG_AT: usize = BODY_AT + 4;

/// Recompute the header checksum of a file with `n` paths.
fn reseal_header(bytes: &mut [u8], n: usize) {
    let end = INDEX_AT + n * INDEX_ENTRY_BYTES as usize;
    let digest = Sha256::digest(&bytes[..end]);
    bytes[end..end + 32].copy_from_slice(&digest);
}

/// Recompute the checksum of the body `[at, end)` (its last 32 bytes).
fn reseal_body(bytes: &mut [u8], at: usize, end: usize) {
    let digest = Sha256::digest(&bytes[at..end - 32]);
    bytes[end - 32..end].copy_from_slice(&digest);
}

/// The header of a `space()` file up to and including the path count.
fn expected_header(content: u32, n_paths: u64) -> Vec<u8> {
    let mut expected = Vec::new();
    expected.extend_from_slice(b"EFPATH\0\x01");
    expected.extend_from_slice(&2u32.to_le_bytes()); // version
    expected.extend_from_slice(&content.to_le_bytes());
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
    expected.extend_from_slice(&n_paths.to_le_bytes());
    expected
}

/// A one-path file: header, index entry, header checksum, body.
fn one_path_file(body_sets: &[u8]) -> Vec<u8> {
    let mut expected = expected_header(CONTENT_PATH, 1);
    let body_len = 4 + body_sets.len() as u64 + 32;
    expected.extend_from_slice(&0u32.to_le_bytes());
    expected.extend_from_slice(&(BODY_AT as u64).to_le_bytes());
    expected.extend_from_slice(&body_len.to_le_bytes());
    expected.extend_from_slice(&Sha256::digest(&expected));
    assert_eq!(expected.len(), BODY_AT);
    let mut body = 0u32.to_le_bytes().to_vec();
    body.extend_from_slice(body_sets);
    body.extend_from_slice(&Sha256::digest(&body));
    expected.extend_from_slice(&body);
    expected
}

#[test]
fn layout_is_exactly_as_documented() {
    let bytes = sample_path().to_bytes();
    let mut sets = Vec::new();
    for word in [0b10u64, 0b10_0001, 0b1_0000] {
        sets.push(TAG_DENSE);
        sets.extend_from_slice(&word.to_le_bytes());
    }
    assert_eq!(bytes, one_path_file(&sets));
    assert_eq!(
        (
            MAGIC,
            FORMAT_VERSION,
            FORMAT_VERSION_V1,
            CONTENT_PATH,
            CONTENT_PATH_SET
        ),
        (*b"EFPATH\0\x01", 2, 1, 1, 2)
    );
    assert_eq!((TAG_DENSE, TAG_SPARSE, INDEX_ENTRY_BYTES), (0, 1, 20));
}

/// The portable Roaring serialization of a subset of `0..65536` held as one array container.
fn roaring_blob(values: &[u16]) -> Vec<u8> {
    let mut blob = Vec::new();
    if values.is_empty() {
        blob.extend_from_slice(&0u64.to_le_bytes()); // no partition
        return blob;
    }
    blob.extend_from_slice(&1u64.to_le_bytes()); // one 2^32 partition
    blob.extend_from_slice(&0u32.to_le_bytes()); // its high bits
    blob.extend_from_slice(&12346u32.to_le_bytes()); // cookie: no run containers
    blob.extend_from_slice(&1u32.to_le_bytes()); // one container
    blob.extend_from_slice(&0u16.to_le_bytes()); // its key
    blob.extend_from_slice(&(values.len() as u16 - 1).to_le_bytes()); // cardinality − 1
    blob.extend_from_slice(&16u32.to_le_bytes()); // its data offset
    values
        .iter()
        .for_each(|v| blob.extend_from_slice(&v.to_le_bytes()));
    blob
}

#[test]
fn sparse_layout_is_the_portable_roaring_format() {
    let p = sample_path().with_representation(Representation::Sparse);
    let bytes = p.to_bytes();
    let mut sets = Vec::new();
    for values in [&[1u16][..], &[0, 5], &[4]] {
        let blob = roaring_blob(values);
        sets.push(TAG_SPARSE);
        sets.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        sets.extend_from_slice(&blob);
    }
    assert_eq!(bytes, one_path_file(&sets));
    // Loaded back in the representation it was written in (so it re-encodes identically).
    let back = Path::from_bytes(&bytes).unwrap();
    assert_eq!(back, sample_path());
    for k in ElementKind::ALL {
        assert_eq!(
            back.layers()[0].set(k).representation(),
            Representation::Sparse
        );
    }
    assert_eq!(back.to_bytes(), bytes);
    let empty = Path::empty(&space()).with_representation(Representation::Sparse);
    let mut sets = Vec::new();
    for _ in 0..3 {
        sets.push(TAG_SPARSE);
        sets.extend_from_slice(&8u64.to_le_bytes());
        sets.extend_from_slice(&roaring_blob(&[]));
    }
    assert_eq!(empty.to_bytes(), one_path_file(&sets));
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
    for (v, word) in [(3u32, "newer"), (0, "older")] {
        let mut bytes = sample_path().to_bytes();
        bytes[8..12].copy_from_slice(&v.to_le_bytes());
        let e = Path::from_bytes(&bytes).unwrap_err();
        assert!(matches!(
            e,
            AlgebraError::UnsupportedVersion { found, oldest: 1, newest: 2 } if found == v
        ));
        let msg = e.to_string();
        assert!(
            msg.contains(word) && msg.contains(&v.to_string()) && msg.contains("(1 to 2)"),
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
    let sparse = sample_path().with_representation(Representation::Sparse);
    let set = PathSet::from_paths(&space(), [(1, sparse), (2, Path::full(&space()))]).unwrap();
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
        assert!(PathSetReader::open(Cursor::new(&bytes[..n])).is_err());
    }
    let e = PathSet::from_bytes(&bytes[..INDEX_AT])
        .unwrap_err()
        .to_string();
    assert!(e.contains("declared"), "{e}");
    // A stream cut in the second index entry's body offset names that field.
    let cut = INDEX_AT + INDEX_ENTRY_BYTES as usize + 6;
    let e = PathSet::read_from(&bytes[..cut]).unwrap_err();
    assert!(
        matches!(
            e,
            AlgebraError::Truncated {
                what: FilePart::IndexEntry {
                    entry: 1,
                    field: IndexField::BodyOffset
                },
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("the body offset of index entry 1"),
        "{e}"
    );
}

#[test]
fn checksums_trailing_bytes_and_padding() {
    let good = sample_path().to_bytes();
    let mut bytes = good.clone();
    bytes[FIRST_TAG_AT + 1] ^= 0b100; // neuron 2 does not exist: a padding bit
    let e = Path::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(e, AlgebraError::BodyChecksumMismatch { label: 0, offset, .. } if offset as usize == bytes.len() - 32),
        "{e}"
    );
    reseal_body(&mut bytes, BODY_AT, good.len());
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
    // The header and index have their own checksum.
    for at in [20, PATH_COUNT_AT + 8 + 4, BODY_AT - 1] {
        let mut bytes = good.clone();
        bytes[at] ^= 0x10;
        let e = Path::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(e, AlgebraError::ChecksumMismatch { offset, .. } if offset as usize == BODY_AT - 32),
            "byte {at}: {e}"
        );
    }

    let mut long = good.clone();
    long.extend_from_slice(&[0, 0, 0]);
    assert!(matches!(
        Path::from_bytes(&long),
        Err(AlgebraError::TrailingBytes { count: 3, .. })
    ));
    assert_eq!(Path::read_from(&long[..]).unwrap(), sample_path());
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
        matches!(
            edit(56, &[0xff]),
            AlgebraError::Malformed {
                issue: FormatIssue::LayerNameUtf8 { layer: 0 },
                ..
            }
        ),
        "invalid UTF-8"
    );
    let e = edit(58, &[99]);
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                offset: 59,
                issue: FormatIssue::LayerKindCode { layer: 0, code: 99 },
            }
        ),
        "kind code"
    );
    assert_eq!(
        e.to_string(),
        "malformed path file at byte 59: layer 0: unknown layer kind code 99"
    );
    let e = edit(58, &[2]);
    assert!(
        matches!(
            &e,
            AlgebraError::Malformed {
                issue: FormatIssue::LayerSpace {
                    layer: 0,
                    name,
                    issue: LayerSpaceIssue::UnexpectedWeights { .. },
                },
                ..
            } if name == "fc"
        ),
        "pool with weights: {e}"
    );
    assert!(
        e.to_string()
            .contains("layer 0: invalid layer space `fc`: a "),
        "{e}"
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
        AlgebraError::Malformed {
            issue: FormatIssue::PathCount { found: 2 },
            ..
        }
    ));
    assert!(matches!(
        edit(PATH_COUNT_AT, &0u64.to_le_bytes()),
        AlgebraError::Malformed {
            issue: FormatIssue::PathCount { found: 0 },
            ..
        }
    ));
    // A path set declaring 2^24 paths in a small file: refused before reading the index.
    let set = PathSet::from_paths(&space(), [(0, sample_path())]).unwrap();
    let mut b = set.to_bytes();
    b[PATH_COUNT_AT..PATH_COUNT_AT + 8].copy_from_slice(&(1u64 << 24).to_le_bytes());
    let e = PathSet::from_bytes(&b).unwrap_err();
    assert!(
        matches!(
            e,
            AlgebraError::Truncated {
                what: FilePart::Index { paths, at, .. },
                ..
            } if paths == 1 << 24 && at == INDEX_AT as u64
        ),
        "{e}"
    );
    assert!(PathSet::read_from(&b[..]).is_err());
    // A dimension of 2^36 (within the per-space cap): the header checksum catches it; with a
    // resealed header, the dense set does not fit in its body.
    let mut b = good.clone();
    b[60..68].copy_from_slice(&(1u64 << 36).to_le_bytes());
    assert!(matches!(
        Path::from_bytes(&b),
        Err(AlgebraError::ChecksumMismatch { .. })
    ));
    reseal_header(&mut b, 1);
    let e = Path::from_bytes(&b).unwrap_err();
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                issue: FormatIssue::BodyOverrun {
                    label: 0,
                    part: BodyPart::Words {
                        layer: 0,
                        kind: ElementKind::Neuron
                    },
                    needs: 8589934592,
                    ..
                },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("needs 8589934592 bytes"), "{e}");
    assert!(Path::read_from(&b[..]).is_err());
    b[60..68].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(
        matches!(
            Path::from_bytes(&b),
            Err(AlgebraError::Malformed {
                issue: FormatIssue::LayerSpace {
                    layer: 0,
                    issue: LayerSpaceIssue::TooManyElements {
                        kind: ElementKind::Neuron,
                        ..
                    },
                    ..
                },
                ..
            })
        ),
        "size overflow"
    );
}

#[test]
fn index_entries_are_checked() {
    let good = sample_path().to_bytes();
    let entry = INDEX_AT;
    let edit = |at: usize, with: &[u8]| {
        let mut b = good.clone();
        b[at..at + with.len()].copy_from_slice(with);
        reseal_header(&mut b, 1);
        Path::from_bytes(&b).unwrap_err()
    };
    let e = edit(entry, &7u32.to_le_bytes());
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                issue: FormatIssue::PathLabel { found: 7 },
                ..
            }
        ),
        "label {e}"
    );
    let e = edit(entry + 4, &(BODY_AT as u64 + 1).to_le_bytes());
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                issue: FormatIssue::BodyOffset {
                    label: 0,
                    found,
                    expected,
                },
                ..
            } if found == BODY_AT as u64 + 1 && expected == BODY_AT as u64
        ),
        "offset {e}"
    );
    assert!(e.to_string().contains("expected 162"), "offset {e}");
    let e = edit(entry + 12, &35u64.to_le_bytes());
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                issue: FormatIssue::BodyTooShort { label: 0, len: 35 },
                ..
            }
        ),
        "short body {e}"
    );
    let e = edit(entry + 12, &u64::MAX.to_le_bytes());
    assert!(
        matches!(
            e,
            AlgebraError::TooLarge {
                what: "path body length",
                ..
            }
        ),
        "{e}"
    );
    let body_len = (good.len() - BODY_AT) as u64;
    let e = edit(entry + 12, &(body_len + 1).to_le_bytes());
    assert!(
        matches!(
            e,
            AlgebraError::Truncated {
                what: FilePart::Bodies { paths: 1, end, present },
                ..
            } if end == good.len() as u64 + 1 && present == good.len() as u64
        ),
        "{e}"
    );
    let e = edit(entry + 12, &(body_len - 1).to_le_bytes());
    assert!(
        matches!(e, AlgebraError::TrailingBytes { count: 1, .. }),
        "{e}"
    );
}

#[test]
fn bodies_are_checked() {
    let good = sample_path().to_bytes();
    let edit = |at: usize, with: &[u8]| {
        let mut b = good.clone();
        b[at..at + with.len()].copy_from_slice(with);
        reseal_body(&mut b, BODY_AT, good.len());
        Path::from_bytes(&b).unwrap_err()
    };
    let e = edit(BODY_AT, &1u32.to_le_bytes());
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                issue: FormatIssue::BodyLabel {
                    found: 1,
                    expected: 0
                },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("the index says 0"), "{e}");
    let e = edit(FIRST_TAG_AT, &[7]);
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                offset,
                issue: FormatIssue::SetTag {
                    layer: 0,
                    kind: ElementKind::Neuron,
                    tag: 7
                },
            } if offset == FIRST_TAG_AT as u64
        ),
        "{e}"
    );
    assert!(e.to_string().contains("unknown set tag 7"), "{e}");
    // A sparse tag where dense words are: the "blob length" is a word of the bitset.
    let e = edit(FIRST_TAG_AT, &[TAG_SPARSE]);
    assert!(matches!(e, AlgebraError::BadSparseSet { .. }), "{e}");
}

/// `sample_path()` held sparse, and the offset of each set's blob (after tag and length).
fn sparse_file() -> (Vec<u8>, [usize; 3]) {
    let bytes = sample_path()
        .with_representation(Representation::Sparse)
        .to_bytes();
    let n = FIRST_TAG_AT + 9;
    let s = n + roaring_blob(&[1]).len() + 9;
    let w = s + roaring_blob(&[0, 5]).len() + 9;
    (bytes, [n, s, w])
}

#[test]
fn sparse_blobs_are_checked() {
    let (good, [_, syn, _]) = sparse_file();
    let edit = |at: usize, with: &[u8]| {
        let mut b = good.clone();
        b[at..at + with.len()].copy_from_slice(with);
        reseal_body(&mut b, BODY_AT, good.len());
        Path::from_bytes(&b).unwrap_err()
    };
    let defect = |e: AlgebraError| match e {
        AlgebraError::BadSparseSet {
            label: 0,
            layer: 0,
            kind: ElementKind::Synapse,
            offset,
            defect,
        } => {
            assert_eq!(offset as usize, syn);
            defect
        }
        e => panic!("not a sparse-set error: {e}"),
    };
    // Element 6 of a space of 6 synapses.
    let values_at = syn + 28;
    let e = edit(values_at + 2, &6u16.to_le_bytes());
    assert_eq!(defect(e), SparseDefect::OutOfRange { max: 6, size: 6 });
    // An unsorted array container.
    assert!(matches!(
        defect(edit(values_at, &9u16.to_le_bytes())),
        SparseDefect::Roaring { .. }
    ));
    // A bad cookie.
    assert!(matches!(
        defect(edit(syn + 12, &1u32.to_le_bytes())),
        SparseDefect::Roaring { .. }
    ));
    // A wrong (unused) container offset: decodes, but is not canonical.
    assert_eq!(
        defect(edit(syn + 24, &17u32.to_le_bytes())),
        SparseDefect::NotCanonical
    );
    // One container less: the blob holds 4 bytes the treemap does not use.
    let e = edit(syn + 20, &0u16.to_le_bytes().repeat(2));
    assert!(matches!(defect(e), SparseDefect::LengthMismatch { .. }));
    // A blob length beyond the body.
    let e = edit(syn - 8, &1000u64.to_le_bytes());
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                offset,
                issue: FormatIssue::BodyOverrun {
                    label: 0,
                    part: BodyPart::Blob {
                        layer: 0,
                        kind: ElementKind::Synapse
                    },
                    needs: 1000,
                    ..
                },
            } if offset == syn as u64
        ),
        "{e}"
    );
    // Messages name the layer, the element kind and the defect.
    let msg = edit(values_at + 2, &6u16.to_le_bytes()).to_string();
    assert!(
        msg.contains("layer 0") && msg.contains("synapse") && msg.contains("beyond"),
        "{msg}"
    );
}

#[test]
fn labels_must_be_unique_and_ascending() {
    let set = PathSet::from_paths(&space(), [(1, sample_path()), (2, sample_path())]).unwrap();
    let good = set.to_bytes();
    let second_label_at = INDEX_AT + INDEX_ENTRY_BYTES as usize;
    let mut b = good.clone();
    b[second_label_at..second_label_at + 4].copy_from_slice(&1u32.to_le_bytes());
    reseal_header(&mut b, 2);
    assert!(matches!(
        PathSet::from_bytes(&b),
        Err(AlgebraError::DuplicateLabel { label: 1 })
    ));
    b[second_label_at..second_label_at + 4].copy_from_slice(&0u32.to_le_bytes());
    reseal_header(&mut b, 2);
    let e = PathSet::from_bytes(&b).unwrap_err();
    assert!(
        matches!(
            e,
            AlgebraError::Malformed {
                offset,
                issue: FormatIssue::LabelOrder {
                    label: 0,
                    previous: 1
                },
            } if offset == second_label_at as u64
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("label 0 after 1: not ascending"),
        "{e}"
    );
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
    assert_eq!(Path::read_from(Cursor::new(file)).unwrap(), sample_path());
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
    assert_eq!(
        p.layers()[0].synapses().representation(),
        Representation::Dense
    );
    assert_eq!(
        p.layers()[2].synapses().representation(),
        Representation::Sparse
    );
    let bytes = p.to_bytes();
    assert!(bytes.len() > n / 8);
    assert_eq!(Path::from_bytes(&bytes).unwrap(), p);
    assert_eq!(Path::read_from(&bytes[..]).unwrap(), p);
}

/// A space of 10^8 synapses (and weights) with 1,000 kept synapses: a few bytes per kept
/// element, not a bit per element of the space.
#[test]
fn sparse_paths_are_small() {
    let s = Arc::new(
        PathSpace::new(
            [2; 32],
            vec![LayerSpace::dense("fc", 10_000, 10_000).unwrap()],
        )
        .unwrap(),
    );
    assert_eq!(s.layers()[0].synapses(), 100_000_000);
    let mut p = Path::empty(&s);
    let kept: Vec<usize> = (0..1000usize).map(|i| i * 99_991 + i % 7).collect();
    p.insert_many(0, ElementKind::Synapse, &kept).unwrap();
    p.insert_many(0, ElementKind::Neuron, &[3, 9_999]).unwrap();
    let bytes = p.to_bytes();
    eprintln!(
        "10^8 synapses, 1,000 kept: {} bytes ({:.1} per kept element); v1 would be {} bytes",
        bytes.len(),
        bytes.len() as f64 / 1000.0,
        2 * 100_000_000usize.div_ceil(64) * 8 + 10_000 / 8
    );
    assert!(bytes.len() < 20_000, "{} bytes", bytes.len());
    assert_eq!(Path::from_bytes(&bytes).unwrap(), p);
}

/// The space and paths of the v1 fixtures in `tests/data/` (written by the v1 writer of
/// effpath before format v2).
fn v1_space() -> Arc<PathSpace> {
    Arc::new(
        PathSpace::new(
            [0x5a; 32],
            vec![
                LayerSpace::conv2d("conv", 2, 4, 1, [3, 3], [8, 8]).expect("valid fixture"),
                LayerSpace::max_pool2d("pool", 4, [2, 2], [4, 4]).expect("valid fixture"),
                LayerSpace::dense("fc", 64, 3).expect("valid fixture"),
            ],
        )
        .expect("valid fixture"),
    )
}

fn v1_path(label: u32) -> Path {
    let s = v1_space();
    let mut p = Path::empty(&s);
    let l = label as usize;
    p.insert_many(0, ElementKind::Synapse, &[l, 17 + l, 1000 + 3 * l, 4607])
        .expect("valid fixture");
    p.insert_many(0, ElementKind::Neuron, &[l, 255])
        .expect("valid fixture");
    p.insert_many(0, ElementKind::Weight, &[0, 71])
        .expect("valid fixture");
    let pool: Vec<usize> = (0..256).step_by(l + 2).collect();
    p.insert_many(1, ElementKind::Synapse, &pool)
        .expect("valid fixture");
    p.insert_many(2, ElementKind::Weight, &[l, 64 + l, 191])
        .expect("valid fixture");
    p.insert_neuron(2, l).expect("valid fixture");
    p
}

#[test]
fn v1_files_still_load() {
    let set_bytes = include_bytes!("data/v1-set-3-classes.bin");
    let path_bytes = include_bytes!("data/v1-path.bin");
    let s = v1_space();
    let set = PathSet::from_paths(&s, [0u32, 1, 2].map(|l| (l, v1_path(l)))).unwrap();
    // The fixtures are exactly what the test-only v1 writer makes.
    assert_eq!(encode_v1(&s, CONTENT_PATH_SET, set.iter()), set_bytes);
    assert_eq!(encode_v1(&s, CONTENT_PATH, [(0, &v1_path(1))]), path_bytes);
    assert_eq!(&set_bytes[8..12], &1u32.to_le_bytes());

    let loaded = PathSet::from_bytes(set_bytes).unwrap();
    assert_eq!(loaded, set);
    assert_eq!(PathSet::read_from(&set_bytes[..]).unwrap(), set);
    assert_eq!(PathSet::load_checked(set_bytes, [0x5a; 32]).unwrap(), set);
    assert!(PathSet::load_checked(set_bytes, [0; 32]).is_err());
    assert!(Arc::ptr_eq(
        PathSet::load_in_space(set_bytes, &s).unwrap().space(),
        &s
    ));
    assert_eq!(Path::from_bytes(path_bytes).unwrap(), v1_path(1));
    assert_eq!(Path::read_from(&path_bytes[..]).unwrap(), v1_path(1));
    // A large sparse-enough set of a v1 file is held compressed once loaded.
    assert_eq!(
        loaded.get(0).unwrap().layers()[0]
            .synapses()
            .representation(),
        Representation::Sparse
    );
    // Re-encoded as v2, and one label at a time.
    let v2 = loaded.to_bytes();
    assert_eq!(&v2[8..12], &2u32.to_le_bytes());
    assert_eq!(PathSet::from_bytes(&v2).unwrap(), set);
    let mut r = PathSetReader::open(Cursor::new(&set_bytes[..])).unwrap();
    assert_eq!(r.version(), 1);
    assert_eq!(r.read(2).unwrap(), Some(v1_path(2)));
    assert_eq!(r.read(3).unwrap(), None);
    // v1 keeps its whole-file checksum.
    let mut bad = set_bytes.to_vec();
    bad[set_bytes.len() - 100] ^= 1;
    assert!(matches!(
        PathSet::from_bytes(&bad),
        Err(AlgebraError::ChecksumMismatch { .. })
    ));
    assert!(PathSetReader::open(Cursor::new(bad)).is_err());
    // Cut short: the declared size is refused up front; a stream ends in a set's bits.
    let cut = &set_bytes[..set_bytes.len() - 40];
    let e = PathSet::from_bytes(cut).unwrap_err();
    let at = match &e {
        AlgebraError::Truncated {
            what:
                FilePart::Paths {
                    paths: 3,
                    at,
                    present,
                    ..
                },
            ..
        } => {
            assert_eq!(*at + *present, cut.len() as u64);
            *at
        }
        other => panic!("{other}"),
    };
    let declared = set_bytes.len() as u64 - at;
    assert!(
        e.to_string()
            .contains(&format!("3 path(s): {declared} bytes declared after byte")),
        "{e}"
    );
    let e = PathSet::read_from(cut).unwrap_err();
    assert!(
        matches!(
            &e,
            AlgebraError::Truncated {
                what: FilePart::Bits {
                    label: 2,
                    layer: 2,
                    name,
                    kind: ElementKind::Weight,
                },
                ..
            } if name == "fc"
        ),
        "{e}"
    );
}

/// A 3-class file: class 0 dense, class 1 sparse, class 2 as built (mixed).
fn three_classes() -> PathSet {
    let s = v1_space();
    PathSet::from_paths(
        &s,
        [
            (0, v1_path(0).with_representation(Representation::Dense)),
            (1, v1_path(1).with_representation(Representation::Sparse)),
            (5, v1_path(2)),
        ],
    )
    .expect("distinct labels")
}

#[test]
fn one_label_reads_alone() {
    let set = three_classes();
    let bytes = set.to_bytes();
    let mut r = PathSetReader::open(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(r.version(), 2);
    assert_eq!(r.labels().collect::<Vec<_>>(), vec![0, 1, 5]);
    assert_eq!(
        (r.len(), r.is_empty(), r.contains(5), r.contains(2)),
        (3, false, true, false)
    );
    assert!(r.space().check_same(set.space()).is_ok());
    for label in [5, 0, 1] {
        assert_eq!(r.read(label).unwrap().as_ref(), set.get(label));
    }
    assert_eq!(r.read(2).unwrap(), None);
    assert_eq!(r.read_all().unwrap(), set);
    assert_eq!(
        PathSet::read_label(Cursor::new(&bytes), 1, Some([0x5a; 32].into())).unwrap(),
        set.get(1).cloned()
    );
    assert!(matches!(
        PathSet::read_label(Cursor::new(&bytes), 1, Some([1; 32].into())),
        Err(AlgebraError::FingerprintMismatch { .. })
    ));
    let s = v1_space();
    let r = PathSetReader::open_in_space(Cursor::new(&bytes), &s).unwrap();
    assert!(Arc::ptr_eq(r.space(), &s));

    // The path set may start anywhere in the input (after another file's header).
    let mut embedded = b"some header".to_vec();
    embedded.extend_from_slice(&bytes);
    let mut c = Cursor::new(embedded);
    c.set_position(11);
    let mut r = PathSetReader::open(c).unwrap();
    assert_eq!(r.read(1).unwrap().as_ref(), set.get(1));
}

#[test]
fn a_corrupted_body_fails_alone() {
    let set = three_classes();
    let bytes = set.to_bytes();
    // The index: the entry of label 0 points just past the 3 entries and the header checksum.
    let u = |a: usize| u64::from_le_bytes(bytes[a..a + 8].try_into().unwrap()) as usize;
    let index = (0..bytes.len() - 100)
        .find(|&p| bytes[p..p + 4] == [0; 4] && u(p + 4) == p + 3 * 20 + 32)
        .unwrap();
    let entry = |i: usize| (u(index + 20 * i + 4), u(index + 20 * i + 12));
    let (at, len) = entry(1);
    assert_eq!(at, entry(0).0 + entry(0).1);
    for flip in [at + 4, at + len / 2, at + len - 1] {
        let mut bad = bytes.clone();
        bad[flip] ^= 0x40;
        let mut r = PathSetReader::open(Cursor::new(&bad)).unwrap();
        let e = r.read(1).unwrap_err();
        assert!(
            matches!(e, AlgebraError::BodyChecksumMismatch { label: 1, .. }),
            "byte {flip}: {e}"
        );
        assert!(e.to_string().contains("label 1"), "{e}");
        assert_eq!(r.read(0).unwrap().as_ref(), set.get(0));
        assert_eq!(r.read(5).unwrap().as_ref(), set.get(5));
        assert!(PathSet::from_bytes(&bad).is_err());
        assert!(PathSet::read_from(&bad[..]).is_err());
    }
}

/// Sizes of a ResNet-50-like layer (3×3 conv, 256 → 256 channels, 14×14 output:
/// 115,605,504 synapses) at several kept fractions, v2 against v1. Run with
/// `cargo test -p effpath-algebra --release --test format -- --ignored --nocapture report_sizes`.
#[test]
#[ignore = "prints measurements"]
fn report_sizes() {
    let conv = LayerSpace::conv2d("layer3.conv2", 256, 256, 1, [3, 3], [14, 14]).unwrap();
    let s = Arc::new(PathSpace::new([9; 32], vec![conv]).unwrap());
    let n = s.layers()[0].synapses();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for kept in [1_000usize, 10_000, 100_000, 1_000_000, 3_500_000] {
        let idx: Vec<usize> = (0..kept)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % n as u64) as usize
            })
            .collect();
        let mut p = Path::empty(&s);
        p.insert_many(0, ElementKind::Synapse, &idx).unwrap();
        let count = p.layers()[0].synapses().count();
        let v2 = p.to_bytes().len();
        let v1 = encode_v1(&s, CONTENT_PATH, [(0, &p)]).len();
        eprintln!(
            "{n} synapses, {count} kept ({:.4} %): {:?}, v2 {v2} bytes ({:.2} per kept element), v1 {v1} bytes ({:.0}x)",
            100.0 * count as f64 / n as f64,
            p.layers()[0].synapses().representation(),
            v2 as f64 / count as f64,
            v1 as f64 / v2 as f64
        );
    }
}
