//! Tests of the IDX reader: every error case on hand-built buffers, gzip vs
//! plain equivalence, and no panics on arbitrary bytes.

use super::*;
use crate::LabeledImages;
use flate2::{Compression, write::GzEncoder};
use proptest::prelude::*;
use std::io::Write;

/// Builds an IDX buffer: magic, big-endian dimensions, payload.
fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("write to Vec");
    enc.finish().expect("finish to Vec")
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn images(bytes: &[u8]) -> Result<Array3<u8>> {
    decode_images(bytes, "test", &IdxOptions::default())
}

fn labels(bytes: &[u8]) -> Result<Vec<Label>> {
    decode_labels(bytes, "test", &IdxOptions::default())
}

const EMBEDDED_TEST_IMAGES: &[u8] = include_bytes!("../data/mnist/t10k-images-idx3-ubyte.gz");
const EMBEDDED_TEST_LABELS: &[u8] = include_bytes!("../data/mnist/t10k-labels-idx1-ubyte.gz");

#[test]
fn valid_images_and_labels_decode() -> Result<()> {
    let pixels: Vec<u8> = (0..12).collect();
    let a = images(&idx(IMAGES_MAGIC, &[2, 2, 3], &pixels))?;
    assert_eq!(a.shape(), &[2, 2, 3]);
    assert_eq!(a[[1, 0, 2]], 8);
    assert_eq!(labels(&idx(LABELS_MAGIC, &[3], &[7, 0, 9]))?, vec![7, 0, 9]);
    // Empty sets are valid.
    assert_eq!(
        images(&idx(IMAGES_MAGIC, &[0, 28, 28], &[]))?.shape(),
        &[0, 28, 28]
    );
    assert_eq!(labels(&idx(LABELS_MAGIC, &[0], &[]))?, Vec::<Label>::new());
    Ok(())
}

#[test]
fn too_short_for_magic() {
    for bytes in [&[][..], &[0], &[0, 0, 8]] {
        match images(bytes) {
            Err(DataError::Truncated {
                offset: 0,
                expected: 4,
                got,
                what,
                ..
            }) => {
                assert_eq!(got, bytes.len() as u64);
                assert_eq!(what, "magic number");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn wrong_magic() {
    let bytes = idx(0x1234_0803, &[1, 1, 1], &[0]);
    match images(&bytes) {
        Err(DataError::BadMagic {
            input,
            offset: 0,
            expected: 0x803,
            got: 0x1234_0803,
        }) => assert_eq!(input, "test"),
        other => panic!("{other:?}"),
    }
    // A label file given where images are expected, and vice versa.
    let lab = idx(LABELS_MAGIC, &[1], &[0]);
    assert!(matches!(
        images(&lab),
        Err(DataError::BadMagic {
            expected: 0x803,
            got: 0x801,
            ..
        })
    ));
    let img = idx(IMAGES_MAGIC, &[1, 1, 1], &[0]);
    assert!(matches!(
        labels(&img),
        Err(DataError::BadMagic {
            expected: 0x801,
            got: 0x803,
            ..
        })
    ));
}

#[test]
fn unsupported_dtype() {
    // 0x0D = f32 in the IDX spec.
    let bytes = idx(0x0000_0D03, &[1, 1, 1], &[0, 0, 0, 0]);
    assert!(matches!(
        images(&bytes),
        Err(DataError::UnsupportedDtype {
            offset: 2,
            expected: 0x08,
            got: 0x0D,
            ..
        })
    ));
}

#[test]
fn truncated_dimensions() {
    let bytes = idx(IMAGES_MAGIC, &[5], &[]);
    assert!(matches!(
        images(&bytes),
        Err(DataError::Truncated {
            offset: 4,
            expected: 12,
            got: 4,
            ..
        })
    ));
}

#[test]
fn truncated_payload() {
    let bytes = idx(IMAGES_MAGIC, &[2, 2, 3], &[1; 11]);
    assert!(matches!(
        images(&bytes),
        Err(DataError::Truncated {
            offset: 16,
            expected: 12,
            got: 11,
            what: "pixel data",
            ..
        })
    ));
    // A full-size MNIST header with no data: rejected before allocating.
    let bytes = idx(IMAGES_MAGIC, &[60_000, 28, 28], &[]);
    assert!(matches!(
        images(&bytes),
        Err(DataError::Truncated {
            expected: 47_040_000,
            got: 0,
            ..
        })
    ));
    let bytes = idx(LABELS_MAGIC, &[3], &[1, 2]);
    assert!(matches!(
        labels(&bytes),
        Err(DataError::Truncated {
            offset: 8,
            expected: 3,
            got: 2,
            what: "label data",
            ..
        })
    ));
}

#[test]
fn trailing_garbage() {
    let bytes = idx(IMAGES_MAGIC, &[1, 2, 2], &[0; 6]);
    assert!(matches!(
        images(&bytes),
        Err(DataError::TrailingBytes {
            offset: 20,
            extra: 2,
            ..
        })
    ));
    let bytes = idx(LABELS_MAGIC, &[1], &[0, 0xFF]);
    assert!(matches!(
        labels(&bytes),
        Err(DataError::TrailingBytes {
            offset: 9,
            extra: 1,
            ..
        })
    ));
}

#[test]
fn size_cap_and_overflow() {
    let opts = IdxOptions::default().with_max_bytes(100);
    let bytes = idx(IMAGES_MAGIC, &[2, 10, 10], &[0; 200]);
    assert!(matches!(
        decode_images(&bytes, "t", &opts),
        Err(DataError::TooLarge {
            declared: 200,
            limit: 100,
            ..
        })
    ));
    // Exactly at the cap is fine.
    assert!(decode_images(&idx(IMAGES_MAGIC, &[1, 10, 10], &[0; 100]), "t", &opts).is_ok());
    let bytes = idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[]);
    match images(&bytes) {
        Err(DataError::SizeOverflow { dims, .. }) => assert_eq!(dims, vec![u64::from(u32::MAX); 3]),
        other => panic!("{other:?}"),
    }
    // Large but not overflowing: over the default 1 GiB cap.
    let bytes = idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, 1], &[]);
    assert!(matches!(images(&bytes), Err(DataError::TooLarge { .. })));
}

#[test]
fn gzip_output_is_capped() {
    // A valid 1-image header followed by a megabyte of zeros, compressed to a
    // few kilobytes: decompression stops just past the cap.
    let mut plain = idx(IMAGES_MAGIC, &[1, 2, 2], &[0; 4]);
    plain.extend(std::iter::repeat_n(0u8, 1 << 20));
    let opts = IdxOptions::default().with_max_bytes(1000);
    match decode_images(&gzip(&plain), "bomb", &opts) {
        Err(DataError::TrailingBytes {
            offset: 20, extra, ..
        }) => {
            assert!(extra > 0 && extra < 2000, "{extra}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn labels_out_of_range() {
    let bytes = idx(LABELS_MAGIC, &[3], &[1, 10, 3]);
    let opts = IdxOptions::default().with_num_classes(10);
    match decode_labels(&bytes, "lab", &opts) {
        Err(DataError::LabelOutOfRange {
            input,
            index: 1,
            offset: 9,
            label: 10,
            num_classes: 10,
        }) => assert_eq!(input, "lab"),
        other => panic!("{other:?}"),
    }
    // Unchecked by default; 256 classes admits every byte.
    assert!(labels(&bytes).is_ok());
    let all = idx(LABELS_MAGIC, &[1], &[255]);
    assert!(decode_labels(&all, "x", &IdxOptions::default().with_num_classes(256)).is_ok());
}

#[test]
fn image_label_count_mismatch() {
    let imgs = idx(IMAGES_MAGIC, &[2, 1, 1], &[0, 0]);
    let labs = idx(LABELS_MAGIC, &[3], &[0, 0, 0]);
    match LabeledImages::from_idx_bytes(&imgs, "i", &labs, "l", &IdxOptions::default()) {
        Err(DataError::CountMismatch {
            images_input,
            images: 2,
            labels_input,
            labels: 3,
        }) => assert_eq!((images_input.as_str(), labels_input.as_str()), ("i", "l")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn corrupt_or_truncated_gzip() {
    let mut bogus = GZIP_MAGIC.to_vec();
    bogus.extend_from_slice(b"not really gzip at all");
    assert!(matches!(images(&bogus), Err(DataError::Gzip { .. })));
    let half = &EMBEDDED_TEST_IMAGES[..EMBEDDED_TEST_IMAGES.len() / 2];
    match images(half) {
        Err(DataError::Gzip { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::UnexpectedEof);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn io_error_names_the_path() {
    let path = Path::new("/definitely/not/here/train-images-idx3-ubyte.gz");
    match read_images(path, &IdxOptions::default()) {
        Err(e @ DataError::Io { .. }) => {
            assert!(e.to_string().contains("/definitely/not/here"), "{e}");
            if let DataError::Io { path: p, .. } = e {
                assert_eq!(p, path);
            }
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        read_labels(path, &IdxOptions::default()),
        Err(DataError::Io { .. })
    ));
}

#[test]
fn gzip_and_plain_give_identical_results() -> Result<()> {
    let opts = IdxOptions::default().with_num_classes(10);
    let plain_images = gunzip(EMBEDDED_TEST_IMAGES);
    let plain_labels = gunzip(EMBEDDED_TEST_LABELS);
    assert_eq!(&plain_images[..4], &IMAGES_MAGIC.to_be_bytes());
    let from_gz = decode_images(EMBEDDED_TEST_IMAGES, "gz", &opts)?;
    let from_plain = decode_images(&plain_images, "plain", &opts)?;
    assert_eq!(from_gz, from_plain);
    assert_eq!(from_gz.shape(), &[2_004, 28, 28]);
    let labels_gz = decode_labels(EMBEDDED_TEST_LABELS, "gz", &opts)?;
    assert_eq!(labels_gz, decode_labels(&plain_labels, "plain", &opts)?);

    // The same through files on disk, including plain files and gzip files
    // written by a different encoder.
    let dir = tempfile::tempdir().map_err(|e| DataError::io("tempdir", e))?;
    let write = |name: &str, bytes: &[u8]| -> Result<std::path::PathBuf> {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).map_err(|e| DataError::io(&p, e))?;
        Ok(p)
    };
    let img_plain = write("img", &plain_images)?;
    let img_gz = write("img.gz", &gzip(&plain_images))?;
    let lab_plain = write("lab", &plain_labels)?;
    let lab_gz = write("lab.gz", EMBEDDED_TEST_LABELS)?;
    assert_eq!(read_images(&img_plain, &opts)?, from_gz);
    assert_eq!(read_images(&img_gz, &opts)?, from_gz);
    assert_eq!(read_labels(&lab_plain, &opts)?, labels_gz);
    assert_eq!(read_labels(&lab_gz, &opts)?, labels_gz);
    // Tiny files (shorter than the gzip magic) are errors, not panics.
    let tiny = write("tiny", &[0x1f])?;
    assert!(matches!(
        read_images(&tiny, &opts),
        Err(DataError::Truncated { .. })
    ));
    Ok(())
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error() {
    let full = idx(IMAGES_MAGIC, &[2, 3, 3], &[7; 18]);
    for n in 0..full.len() {
        assert!(images(&full[..n]).is_err(), "prefix of {n} bytes");
    }
    assert!(images(&full).is_ok());
    let gz = gzip(&full);
    for n in 0..gz.len() {
        assert!(images(&gz[..n]).is_err(), "gzip prefix of {n} bytes");
    }
}

#[test]
fn error_messages_are_informative() {
    let e = images(&idx(IMAGES_MAGIC, &[2, 2, 3], &[1; 11])).expect_err("truncated");
    let msg = e.to_string();
    assert!(
        msg.contains("test") && msg.contains("12") && msg.contains("11"),
        "{msg}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let opts = IdxOptions::default().with_max_bytes(1 << 16).with_num_classes(10);
        let _ = decode_images(&bytes, "p", &opts);
        let _ = decode_labels(&bytes, "p", &opts);
        let mut gz = GZIP_MAGIC.to_vec();
        gz.extend_from_slice(&bytes);
        let _ = decode_images(&gz, "p", &opts);
    }

    #[test]
    fn structured_headers_never_panic(
        dtype in prop_oneof![Just(0x08u8), any::<u8>()],
        ndim in 0u8..5,
        dims in proptest::collection::vec(prop_oneof![0u32..8, any::<u32>()], 0..5),
        payload_len in 0usize..600,
        num_classes in 0u16..300,
    ) {
        let magic = u32::from(dtype) << 8 | u32::from(ndim);
        let bytes = idx(magic, &dims, &vec![3u8; payload_len]);
        let opts = IdxOptions::default().with_num_classes(num_classes);
        // The header declares `ndim` dimension words; whatever follows them is payload.
        let payload = bytes.len().saturating_sub(4 + 4 * usize::from(ndim));
        if let Ok(a) = decode_images(&bytes, "p", &opts) {
            prop_assert_eq!(a.len(), payload);
        }
        if let Ok(l) = decode_labels(&bytes, "p", &opts) {
            prop_assert_eq!(l.len(), payload);
        }
        let gz = gzip(&bytes);
        let cut = payload_len.min(gz.len());
        let _ = decode_images(&gz[..cut], "p", &opts);
        let _ = decode_labels(&gz, "p", &opts);
    }

    #[test]
    fn corrupted_valid_file_never_panics(pos in 0usize..40, byte in any::<u8>(), cut in 0usize..40) {
        let mut bytes = idx(IMAGES_MAGIC, &[2, 3, 3], &[9; 18]);
        if let Some(b) = bytes.get_mut(pos) {
            *b = byte;
        }
        bytes.truncate(cut.max(1) + pos.min(10));
        let _ = images(&bytes);
        let _ = labels(&bytes);
    }
}
