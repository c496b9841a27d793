//! Tests of `.npy` reading and writing.

use super::*;
use ndarray::{Array, Array2, ArrayD, IxDyn};
use proptest::prelude::*;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A version-1.0 `.npy` file with the given header dictionary and data.
fn npy_v1(dict: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{dict}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(header.len()).expect("short").to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_header(shape: &str) -> String {
    format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}")
}

#[test]
fn f32_round_trips_at_every_rank() -> Result<()> {
    let dir = tempdir();
    let shapes = [
        &[][..],
        &[5],
        &[2, 3],
        &[2, 3, 4],
        &[1, 2, 3, 4],
        &[2, 0, 3],
    ];
    for (i, shape) in shapes.into_iter().enumerate() {
        let n: usize = shape.iter().product();
        let a = Array::from_iter((0..n).map(|i| i as f32 * 0.25 - 1.0))
            .into_shape_with_order(IxDyn(shape))
            .expect("shape");
        let path = dir.path().join(format!("a{i}.npy"));
        write_npy(&path, &a)?;
        assert_eq!(read_npy::<f32>(&path)?, a, "shape {shape:?}");
        assert_eq!(decode_npy::<f32>(&encode_npy(&a)?, "mem")?, a);
    }
    // Nothing but the written files is left in the directory.
    assert_eq!(names(dir.path()).len(), 6);
    Ok(())
}

#[test]
fn i64_and_u8_round_trip() -> Result<()> {
    let dir = tempdir();
    let a = Array2::from_shape_fn((3, 4), |(i, j)| i as i64 * 1_000_000_000_000 - j as i64);
    let p = dir.path().join("i.npy");
    write_npy(&p, &a)?;
    assert_eq!(read_npy::<i64>(&p)?, a.into_dyn());
    let b = Array::from_iter(0..=255u8).into_dyn();
    let p = dir.path().join("u.npy");
    write_npy(&p, &b)?;
    assert_eq!(read_npy::<u8>(&p)?, b);
    Ok(())
}

#[test]
fn non_standard_layouts_round_trip() -> Result<()> {
    let dir = tempdir();
    let a = Array2::from_shape_fn((3, 5), |(i, j)| (i * 10 + j) as f32);
    let t = a.t(); // Fortran order
    let p = dir.path().join("t.npy");
    write_npy(&p, &t)?;
    assert_eq!(read_npy::<f32>(&p)?, t.to_owned().into_dyn());
    let strided = a.slice_axis(ndarray::Axis(1), ndarray::Slice::new(0, None, 2));
    write_npy(&p, &strided)?;
    assert_eq!(read_npy::<f32>(&p)?, strided.to_owned().into_dyn());
    Ok(())
}

#[test]
fn wrong_dtype_is_an_error() -> Result<()> {
    let dir = tempdir();
    let p = dir.path().join("f64.npy");
    // Written with ndarray-npy directly: f64 is not one of our element types.
    ndarray_npy::write_npy(&p, &Array::from_elem(4, 1.0f64)).expect("write f64");
    match read_npy::<f32>(&p) {
        Err(DataError::NpyDtype {
            input,
            expected,
            got,
        }) => {
            assert_eq!(got, "<f8");
            assert_eq!(expected, "<f4 or >f4");
            assert!(input.ends_with("f64.npy"));
        }
        other => panic!("{other:?}"),
    }
    let p = dir.path().join("u8.npy");
    write_npy(&p, &Array::from_elem(3, 7u8))?;
    assert!(matches!(
        read_npy::<f32>(&p),
        Err(DataError::NpyDtype { .. })
    ));
    assert!(matches!(
        read_npy::<i64>(&p),
        Err(DataError::NpyDtype { .. })
    ));
    // A structured dtype (a list) is reported as such.
    let s = npy_v1(
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
        &[0; 4],
    );
    assert!(matches!(
        decode_npy::<f32>(&s, "s"),
        Err(DataError::NpyDtype { .. })
    ));
    Ok(())
}

#[test]
fn big_endian_f32_is_read() -> Result<()> {
    let bytes = npy_v1(
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
        &[0x3f, 0x80, 0, 0, 0x40, 0, 0, 0],
    );
    assert_eq!(
        decode_npy::<f32>(&bytes, "be")?.as_slice(),
        Some(&[1.0f32, 2.0][..])
    );
    Ok(())
}

#[test]
fn corrupt_files_are_errors() {
    let e = |bytes: &[u8]| decode_npy::<f32>(bytes, "c");
    assert!(matches!(e(b""), Err(DataError::Truncated { .. })));
    assert!(matches!(
        e(b"PK\x03\x04 not npy"),
        Err(DataError::NpyHeader {
            offset: 0,
            issue: NpyHeaderIssue::Magic {
                found: [b'P', b'K', 3, 4, b' ', b'n']
            },
            ..
        })
    ));
    assert_eq!(
        e(b"PK\x03\x04 not npy").unwrap_err().to_string(),
        "c: invalid .npy header at byte 0: missing \\x93NUMPY magic string"
    );
    assert!(matches!(
        e(b"\x93NUMPY\x09\x00\x00\x00"),
        Err(DataError::NpyHeader {
            offset: 6,
            issue: NpyHeaderIssue::Version { major: 9, minor: 0 },
            ..
        })
    ));
    assert_eq!(
        e(b"\x93NUMPY\x09\x00\x00\x00").unwrap_err().to_string(),
        "c: invalid .npy header at byte 6: unsupported format version 9.0"
    );
    // Header length pointing far past the end (v2: u32 length).
    assert!(matches!(
        e(b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}"),
        Err(DataError::Truncated {
            offset: 12,
            expected: 0xFFFF_FFFF,
            ..
        })
    ));
    // Header that is not a dictionary.
    assert!(matches!(
        e(&npy_v1("[1, 2]", &[])),
        Err(DataError::NpyRead { .. })
    ));
    // Data shorter / longer than the shape says.
    assert!(matches!(
        e(&npy_v1(&f32_header("(3,)"), &[0; 11])),
        Err(DataError::Truncated {
            expected: 12,
            got: 11,
            ..
        })
    ));
    assert!(matches!(
        e(&npy_v1(&f32_header("(3,)"), &[0; 13])),
        Err(DataError::TrailingBytes { extra: 1, .. })
    ));
    // Huge declared shapes: rejected before allocating.
    assert!(matches!(
        e(&npy_v1(&f32_header("(100000000000,)"), &[])),
        Err(DataError::Truncated { .. })
    ));
    assert!(matches!(
        e(&npy_v1(
            &f32_header("(4294967296, 4294967296, 4294967296)"),
            &[]
        )),
        Err(DataError::SizeOverflow { .. })
    ));
    assert!(matches!(
        read_npy::<f32>("/no/such/file.npy"),
        Err(DataError::Io { .. })
    ));
}

#[test]
fn write_replaces_atomically_and_leaves_no_temp() -> Result<()> {
    let dir = tempdir();
    let p = dir.path().join("a.npy");
    write_npy(&p, &Array::from_elem(3, 1.0f32))?;
    write_npy(&p, &Array::from_elem((2, 2), 2.0f32))?;
    assert_eq!(read_npy::<f32>(&p)?, Array::from_elem(IxDyn(&[2, 2]), 2.0));
    assert_eq!(names(dir.path()), vec!["a.npy".to_owned()]);
    // A directory that does not exist: an error, and nothing written.
    let bad = dir.path().join("missing").join("b.npy");
    assert!(matches!(
        write_npy(&bad, &Array::from_elem(1, 0u8)),
        Err(DataError::Io { .. })
    ));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..160)) {
        let _ = decode_npy::<f32>(&tail, "p");
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&tail);
        let _ = decode_npy::<f32>(&bytes, "p");
        let _ = decode_npy::<u8>(&bytes, "p");
    }

    #[test]
    fn corrupted_valid_file_never_panics(
        pos in 0usize..200,
        byte in any::<u8>(),
        cut in 0usize..200,
    ) {
        let a: ArrayD<f32> = Array::from_elem(IxDyn(&[2, 3, 4]), 1.5);
        let mut bytes = encode_npy(&a).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Some(b) = bytes.get_mut(pos) {
            *b = byte;
        }
        bytes.truncate(cut.max(pos));
        let _ = decode_npy::<f32>(&bytes, "p");
        let _ = decode_npy::<i64>(&bytes, "p");
    }

    #[test]
    fn random_shapes_in_header_never_panic(
        dims in proptest::collection::vec(any::<u64>(), 0..4),
        fortran in any::<bool>(),
        data_len in 0usize..64,
    ) {
        let shape = dims.iter().map(|d| format!("{d}, ")).collect::<String>();
        let dict = format!(
            "{{'descr': '<f4', 'fortran_order': {}, 'shape': ({shape}), }}",
            if fortran { "True" } else { "False" },
        );
        let bytes = npy_v1(&dict, &vec![0; data_len]);
        if let Ok(a) = decode_npy::<f32>(&bytes, "p") {
            prop_assert_eq!(a.len() * 4, data_len);
        }
    }
}
