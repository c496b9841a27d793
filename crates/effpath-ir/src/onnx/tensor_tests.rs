//! Unit tests of `tensor.rs` (a separate file to keep `tensor.rs` short).

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

use super::*;
use crate::onnx::proto::StringStringEntryProto;
use crate::onnx::proto::attribute_proto::AttributeType;
use crate::onnx::proto::{AttributeProto, NodeProto};

fn float_tensor(dims: &[i64], data: Vec<f32>) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: Some(DataType::Float as i32),
        name: Some("t".into()),
        float_data: data,
        ..TensorProto::default()
    }
}

/// The message of an expected error (panics, failing the test, on `Ok`).
fn err_msg<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.to_string(),
    }
}

fn bits(a: &ArrayD<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn f32_round_trip_is_bit_identical() -> Result<()> {
    let special = [
        0.0,
        -0.0,
        1.5,
        f32::MIN_POSITIVE / 4.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let mut values: Vec<f32> = special.to_vec();
    values.push(f32::from_bits(0x7fc0_1234)); // NaN with payload
    values.extend((0..17).map(|i| (i as f32 * 0.37).sin() * 1e3));
    let a = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), values).expect("24 values");
    let t = f32_to_tensor("w", &a);
    assert_eq!(t.dims, vec![2, 3, 4]);
    let back = tensor_to_f32(&decode_tensor(&encode_tensor(&t))?)?;
    assert_eq!(back.shape(), a.shape());
    assert_eq!(bits(&back), bits(&a));
    // A non-standard layout (transposed view) is written in logical row-major order.
    let at = a.t().to_owned();
    let back_t = tensor_to_f32(&f32_to_tensor("wt", &at))?;
    assert_eq!(bits(&back_t), bits(&at));
    assert_eq!(back_t.shape(), &[4, 3, 2]);
    Ok(())
}

#[test]
fn raw_data_and_float_data_agree() -> Result<()> {
    let data = vec![1.0, -2.5, 3.25, 1e-8, 7.0, 8.0];
    let typed = float_tensor(&[2, 3], data.clone());
    let raw = TensorProto {
        float_data: vec![],
        raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..typed.clone()
    };
    let a = tensor_to_f32(&typed)?;
    assert_eq!(bits(&a), bits(&tensor_to_f32(&raw)?));
    assert_eq!(a.shape(), &[2, 3]);
    Ok(())
}

#[test]
fn scalar_and_empty_tensors() -> Result<()> {
    let s = tensor_to_f32(&float_tensor(&[], vec![4.0]))?;
    assert_eq!((s.ndim(), s.len()), (0, 1));
    let e = tensor_to_f32(&float_tensor(&[0, 3], vec![]))?;
    assert_eq!(e.shape(), &[0, 3]);
    Ok(())
}

#[test]
fn other_numeric_types_convert() -> Result<()> {
    let base = |dt: DataType, dims: &[i64]| TensorProto {
        dims: dims.to_vec(),
        data_type: Some(dt as i32),
        ..TensorProto::default()
    };
    let d = TensorProto {
        double_data: vec![0.5, -1.0],
        ..base(DataType::Double, &[2])
    };
    assert_eq!(tensor_to_f32(&d)?.as_slice(), Some(&[0.5f32, -1.0][..]));
    let i8s = TensorProto {
        raw_data: Some(vec![0xff, 0x7f, 0x80]),
        ..base(DataType::Int8, &[3])
    };
    assert_eq!(
        tensor_to_f32(&i8s)?.as_slice(),
        Some(&[-1.0f32, 127.0, -128.0][..])
    );
    let u8s = TensorProto {
        int32_data: vec![0, 255],
        ..base(DataType::Uint8, &[2])
    };
    assert_eq!(tensor_to_f32(&u8s)?.as_slice(), Some(&[0.0f32, 255.0][..]));
    let i64s = TensorProto {
        int64_data: vec![-3, 1 << 40],
        ..base(DataType::Int64, &[2])
    };
    assert_eq!(
        tensor_to_f32(&i64s)?.as_slice(),
        Some(&[-3.0f32, (1u64 << 40) as f32][..])
    );
    // FLOAT16: 1.0, -2.0, 65504, smallest subnormal, +inf; BFLOAT16 via int32_data.
    let h: Vec<u8> = [0x3c00u16, 0xc000, 0x7bff, 0x0001, 0x7c00]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let f16 = tensor_to_f32(&TensorProto {
        raw_data: Some(h),
        ..base(DataType::Float16, &[5])
    })?;
    assert_eq!(
        f16.as_slice(),
        Some(&[1.0f32, -2.0, 65504.0, 2f32.powi(-24), f32::INFINITY][..])
    );
    let bf = TensorProto {
        int32_data: vec![0x3fc0, 0xc020],
        ..base(DataType::Bfloat16, &[2])
    };
    assert_eq!(tensor_to_f32(&bf)?.as_slice(), Some(&[1.5f32, -2.5][..]));
    Ok(())
}

#[test]
fn i64_conversion_and_round_trip() -> Result<()> {
    let a =
        ArrayD::from_shape_vec(IxDyn(&[4]), vec![1i64, -1, i64::MAX, i64::MIN]).expect("4 values");
    let t = decode_tensor(&encode_tensor(&i64_to_tensor("shape", &a)))?;
    assert_eq!(tensor_to_i64(&t)?, a);
    let i32s = TensorProto {
        dims: vec![3],
        data_type: Some(DataType::Int32 as i32),
        int32_data: vec![0, -7, 9],
        ..TensorProto::default()
    };
    assert_eq!(tensor_to_i64(&i32s)?.as_slice(), Some(&[0i64, -7, 9][..]));
    let floats = float_tensor(&[1], vec![1.0]);
    assert!(err_msg(tensor_to_i64(&floats)).contains("FLOAT (1) cannot be converted to i64"));
    Ok(())
}

#[test]
fn malformed_tensors_are_errors() {
    let check = |t: TensorProto, needle: &str| {
        let msg = err_msg(tensor_to_f32(&t));
        assert!(msg.contains(needle), "{msg:?} does not contain {needle:?}");
        assert!(msg.contains("ONNX tensor `t`"), "{msg:?}");
    };
    check(
        float_tensor(&[2, 3], vec![1.0; 5]),
        "float_data has 5 elements, dims [2, 3] need 6",
    );
    check(
        float_tensor(&[2, -3], vec![1.0; 6]),
        "negative dimension -3",
    );
    check(float_tensor(&[i64::MAX, i64::MAX], vec![]), "overflows");
    check(float_tensor(&[2], vec![]), "has no data");
    let truncated = TensorProto {
        raw_data: Some(vec![0; 7]),
        ..float_tensor(&[2], vec![])
    };
    check(truncated, "raw_data has 7 bytes, dims [2] need 2 x 4 = 8");
    let both = TensorProto {
        raw_data: Some(vec![0; 4]),
        ..float_tensor(&[1], vec![1.0])
    };
    check(both, "several fields at once: raw_data, float_data");
    check(
        TensorProto {
            data_type: Some(99),
            ..float_tensor(&[1], vec![1.0])
        },
        "unknown data type 99",
    );
    let strings = TensorProto {
        data_type: Some(DataType::String as i32),
        string_data: vec![b"a".to_vec()],
        ..float_tensor(&[1], vec![])
    };
    check(strings, "STRING (8) cannot be converted to f32");
    let complex = TensorProto {
        data_type: Some(DataType::Complex64 as i32),
        ..float_tensor(&[1], vec![1.0, 2.0])
    };
    check(complex, "COMPLEX64 (14) cannot be converted to f32");
    let wrong_field = TensorProto {
        int64_data: vec![1],
        ..float_tensor(&[1], vec![])
    };
    check(wrong_field, "FLOAT (1) cannot be stored in int64_data");
    let u8_range = TensorProto {
        data_type: Some(DataType::Uint8 as i32),
        int32_data: vec![256],
        ..float_tensor(&[1], vec![])
    };
    check(u8_range, "value 256 is out of range for UINT8 (2)");
    let external = TensorProto {
        data_location: Some(DataLocation::External as i32),
        external_data: vec![StringStringEntryProto {
            key: Some("location".into()),
            value: Some("w.bin".into()),
        }],
        ..float_tensor(&[1], vec![])
    };
    check(external, "stored externally (location \"w.bin\")");
}

#[test]
fn encoding_follows_the_schema_packing() {
    // dims (1) is not packed: one tag per element; float_data (4) is packed: one length-delimited run.
    let t = TensorProto {
        dims: vec![1, 2],
        data_type: Some(1),
        float_data: vec![0.0, 0.0],
        ..TensorProto::default()
    };
    let mut want = vec![0x08, 0x01, 0x08, 0x02, 0x10, 0x01, 0x22, 0x08];
    want.extend([0; 8]);
    assert_eq!(encode_tensor(&t), want);
    // AttributeProto.ints (8) is not packed.
    let a = AttributeProto {
        ints: vec![3, 4],
        r#type: Some(AttributeType::Ints as i32),
        ..AttributeProto::default()
    };
    let node = NodeProto {
        attribute: vec![a],
        ..NodeProto::default()
    };
    assert_eq!(
        node.attribute[0].encode_to_vec(),
        vec![0x40, 0x03, 0x40, 0x04, 0xa0, 0x01, 0x07]
    );
    // Packed and unpacked forms both decode.
    let packed_dims = [0x0a, 0x02, 0x01, 0x02];
    assert_eq!(
        decode_tensor(&packed_dims).map(|t| t.dims).ok(),
        Some(vec![1, 2])
    );
}

#[test]
fn decode_errors_and_missing_files() {
    let msg = err_msg(decode_model(&[0x0a, 0xff]));
    assert!(msg.starts_with("ONNX decode error: ModelProto"), "{msg}");
    let msg = err_msg(read_tensor_file("/nonexistent/input_0.pb"));
    assert!(msg.starts_with("/nonexistent/input_0.pb: "), "{msg}");
}

proptest! {
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(t) = decode_tensor(&bytes) {
            let _ = tensor_to_f32(&t);
            let _ = tensor_to_i64(&t);
        }
        let _ = decode_model(&bytes);
    }

    #[test]
    fn arbitrary_tensor_fields_never_panic(
        dims in proptest::collection::vec(-2i64..5, 0..4),
        dt in -1i32..30,
        raw in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        ints in proptest::collection::vec(any::<i32>(), 0..8),
    ) {
        let t = TensorProto { dims, data_type: Some(dt), raw_data: raw, int32_data: ints, ..TensorProto::default() };
        let _ = tensor_to_f32(&t);
        let _ = tensor_to_i64(&t);
    }

    #[test]
    fn f32_round_trip_any_shape(shape in proptest::collection::vec(0usize..4, 0..4), seed in any::<u32>()) {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|i| f32::from_bits(seed.wrapping_mul(2_654_435_761).wrapping_add(i as u32))).collect();
        let a = ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = decode_tensor(&encode_tensor(&f32_to_tensor("x", &a))).and_then(|t| tensor_to_f32(&t));
        let back = back.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.shape(), a.shape());
        prop_assert_eq!(bits(&back), bits(&a));
    }
}

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/onnx-conformance")
}

fn files_with_ext(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files_with_ext(&path, ext, out)?;
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    Ok(())
}

#[test]
fn conformance_vectors_decode() -> Result<()> {
    let mut files = Vec::new();
    files_with_ext(&conformance_dir(), "pb", &mut files).map_err(|source| IrError::Io {
        path: conformance_dir().display().to_string(),
        source,
    })?;
    assert!(files.len() >= 90, "only {} .pb files found", files.len());
    for path in &files {
        let t = read_tensor_file(path)?;
        let a = tensor_to_f32(&t)?;
        assert!(
            !a.shape().is_empty() && !a.is_empty(),
            "{}: shape {:?}",
            path.display(),
            a.shape()
        );
        assert_eq!(a.len(), tensor_element_count(&t)?);
    }
    // Spot check against values read with the Python `onnx` package.
    let conv = tensor_to_f32(&read_tensor_file(
        conformance_dir().join("pytorch-converted/test_Conv2d/test_data_set_0/input_0.pb"),
    )?)?;
    assert_eq!(conv.shape(), &[2, 3, 7, 5]);
    assert_eq!(bits(&conv)[..3], [0xbf7b_6c1f, 0x3f0c_28c8, 0x3e08_4fe4]);
    let sum: f64 = conv.iter().map(|&v| f64::from(v)).sum();
    assert!((sum - 13.567_937_267_012_894).abs() < 1e-9, "{sum}");
    Ok(())
}

#[test]
fn conformance_models_round_trip() -> Result<()> {
    let mut files = Vec::new();
    files_with_ext(&conformance_dir(), "onnx", &mut files).map_err(|source| IrError::Io {
        path: conformance_dir().display().to_string(),
        source,
    })?;
    assert!(files.len() >= 48, "only {} .onnx files found", files.len());
    for path in &files {
        let m = read_model_file(path)?;
        let g = m.graph.as_ref().ok_or(IrError::OnnxNoGraph)?;
        assert!(
            !g.node.is_empty() && !g.output.is_empty(),
            "{}",
            path.display()
        );
        assert!(
            m.ir_version.is_some() && !m.opset_import.is_empty(),
            "{}",
            path.display()
        );
        assert_eq!(decode_model(&encode_model(&m))?, m, "{}", path.display());
        for init in &g.initializer {
            match DataType::try_from(init.data_type()) {
                Ok(DataType::Int64) => {
                    assert_eq!(tensor_to_i64(init)?.len(), tensor_element_count(init)?)
                }
                _ => assert_eq!(tensor_to_f32(init)?.len(), tensor_element_count(init)?),
            }
        }
    }
    Ok(())
}

#[test]
fn tensor_issues_hold_the_values() {
    let issue = |t: TensorProto| match tensor_to_f32(&t) {
        Err(IrError::OnnxTensor { name, issue }) => {
            assert_eq!(name, "t");
            *issue
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        issue(float_tensor(&[2, 3], vec![1.0; 5])),
        TensorIssue::FieldLength {
            field: "float_data",
            len: 5,
            dims: vec![2, 3],
            count: 6,
        }
    );
    assert_eq!(
        issue(float_tensor(&[2, -3], vec![1.0; 6])),
        TensorIssue::NegativeDim {
            dim: -3,
            dims: vec![2, -3],
        }
    );
    assert_eq!(
        issue(float_tensor(&[2], vec![])),
        TensorIssue::NoData {
            dims: vec![2],
            count: 2,
        }
    );
    let raw = TensorProto {
        raw_data: Some(vec![0; 7]),
        ..float_tensor(&[2], vec![])
    };
    let got = issue(raw);
    assert_eq!(
        got.to_string(),
        "raw_data has 7 bytes, dims [2] need 2 x 4 = 8"
    );
}
