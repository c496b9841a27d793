//! Conversions between ONNX [`TensorProto`]s and `ndarray` arrays, and protobuf (de)coding of
//! tensors (`input_N.pb` / `output_N.pb` conformance vectors) and models (`.onnx` files).
//!
//! Every check on the element count happens *before* anything of that size is allocated, so a
//! hostile `dims` field cannot make the importer allocate more than the bytes it was given.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use prost::Message;

use super::proto::tensor_proto::{DataLocation, DataType};
use super::proto::{ModelProto, TensorProto};
use crate::error::{IrError, Result, TensorIssue};

/// The name of a `TensorProto.DataType` value for messages, e.g. `FLOAT16 (10)`.
pub fn data_type_name(value: i32) -> String {
    match DataType::try_from(value) {
        Ok(dt) => format!("{} ({value})", dt.as_str_name()),
        Err(_) => format!("unknown data type {value}"),
    }
}

fn err(t: &TensorProto, issue: TensorIssue) -> IrError {
    IrError::OnnxTensor {
        name: t.name().to_owned(),
        issue: Box::new(issue),
    }
}

/// The tensor's dims as `usize`, rejecting negative values.
pub fn tensor_dims(t: &TensorProto) -> Result<Vec<usize>> {
    t.dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                err(
                    t,
                    TensorIssue::NegativeDim {
                        dim: d,
                        dims: t.dims.clone(),
                    },
                )
            })
        })
        .collect()
}

/// The number of elements the tensor's dims describe (1 for a scalar), with overflow checks.
pub fn tensor_element_count(t: &TensorProto) -> Result<usize> {
    let dims = tensor_dims(t)?;
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            err(
                t,
                TensorIssue::Overflow {
                    what: "element count",
                    dims: t.dims.clone(),
                },
            )
        })
}

/// Where the elements of a tensor are stored.
enum Source<'a> {
    Raw(&'a [u8]),
    Float(&'a [f32]),
    Int32(&'a [i32]),
    Int64(&'a [i64]),
    Double(&'a [f64]),
    Uint64(&'a [u64]),
    Strings,
}

impl Source<'_> {
    fn field(&self) -> &'static str {
        match self {
            Source::Raw(_) => "raw_data",
            Source::Float(_) => "float_data",
            Source::Int32(_) => "int32_data",
            Source::Int64(_) => "int64_data",
            Source::Double(_) => "double_data",
            Source::Uint64(_) => "uint64_data",
            Source::Strings => "string_data",
        }
    }
}

/// Checks the storage location and picks the one field holding the elements.
fn source(t: &TensorProto) -> Result<Source<'_>> {
    if t.data_location == Some(DataLocation::External as i32) || !t.external_data.is_empty() {
        let location = t
            .external_data
            .iter()
            .find(|e| e.key() == "location")
            .map(|e| e.value());
        return Err(err(
            t,
            TensorIssue::External {
                location: location.map(str::to_owned),
            },
        ));
    }
    let mut typed = Vec::new();
    if !t.float_data.is_empty() {
        typed.push(Source::Float(&t.float_data));
    }
    if !t.int32_data.is_empty() {
        typed.push(Source::Int32(&t.int32_data));
    }
    if !t.int64_data.is_empty() {
        typed.push(Source::Int64(&t.int64_data));
    }
    if !t.double_data.is_empty() {
        typed.push(Source::Double(&t.double_data));
    }
    if !t.uint64_data.is_empty() {
        typed.push(Source::Uint64(&t.uint64_data));
    }
    if !t.string_data.is_empty() {
        typed.push(Source::Strings);
    }
    let raw = t.raw_data.as_deref().unwrap_or_default();
    if !raw.is_empty() {
        typed.insert(0, Source::Raw(raw));
    }
    match typed.len() {
        0 => Ok(Source::Raw(raw)),
        1 => Ok(typed.remove(0)),
        _ => {
            let fields: Vec<_> = typed.iter().map(Source::field).collect();
            Err(err(t, TensorIssue::Fields { fields }))
        }
    }
}

/// Decodes `count` little-endian elements of `N` bytes each.
fn from_raw<const N: usize, T>(
    t: &TensorProto,
    raw: &[u8],
    count: usize,
    f: impl Fn([u8; N]) -> Result<T>,
) -> Result<Vec<T>> {
    let want = count.checked_mul(N).ok_or_else(|| {
        err(
            t,
            TensorIssue::Overflow {
                what: "byte size",
                dims: t.dims.clone(),
            },
        )
    })?;
    if raw.is_empty() && want > 0 && t.raw_data.is_none() {
        return Err(err(
            t,
            TensorIssue::NoData {
                dims: t.dims.clone(),
                count,
            },
        ));
    }
    if raw.len() != want {
        return Err(err(
            t,
            TensorIssue::RawLength {
                bytes: raw.len(),
                dims: t.dims.clone(),
                count,
                width: N,
            },
        ));
    }
    raw.chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            f(b)
        })
        .collect()
}

/// Converts the elements of a typed field, after checking their number.
fn from_typed<S: Copy, T>(
    t: &TensorProto,
    field: &'static str,
    data: &[S],
    count: usize,
    f: impl Fn(S) -> Result<T>,
) -> Result<Vec<T>> {
    if data.len() != count {
        return Err(err(
            t,
            TensorIssue::FieldLength {
                field,
                len: data.len(),
                dims: t.dims.clone(),
                count,
            },
        ));
    }
    data.iter().map(|&v| f(v)).collect()
}

/// Checks that an integer from `int32_data` or `uint64_data` fits the declared type.
fn in_range<V: Copy + PartialOrd + Into<i128>>(t: &TensorProto, v: V, lo: V, hi: V) -> Result<V> {
    if v < lo || v > hi {
        return Err(err(
            t,
            TensorIssue::OutOfRange {
                value: v.into(),
                data_type: data_type_name(t.data_type()),
            },
        ));
    }
    Ok(v)
}

/// IEEE 754 half precision bits to `f32` (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match exp {
        0 => {
            // Zero or subnormal: man * 2^-24, exact in f32.
            let v = man as f32 * f32::from_bits(0x3380_0000);
            return if sign == 0 { v } else { -v };
        }
        0x1f => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

fn unsupported(t: &TensorProto, target: &'static str) -> IrError {
    err(
        t,
        TensorIssue::Conversion {
            data_type: data_type_name(t.data_type()),
            target,
        },
    )
}

fn mismatch(t: &TensorProto, src: &Source<'_>) -> IrError {
    err(
        t,
        TensorIssue::Storage {
            data_type: data_type_name(t.data_type()),
            field: src.field(),
        },
    )
}

fn to_array<T>(t: &TensorProto, dims: &[usize], data: Vec<T>) -> Result<ArrayD<T>> {
    ArrayD::from_shape_vec(IxDyn(dims), data).map_err(|source| {
        err(
            t,
            TensorIssue::Dims {
                dims: t.dims.clone(),
                source,
            },
        )
    })
}

/// Converts a numeric tensor to `f32`, from `raw_data` or its typed field.
///
/// Accepts FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT8/16/32/64, UINT8/16/32, UINT64 up to
/// `i64::MAX` and BOOL (as 0/1); wide integers and doubles are rounded to the nearest `f32`. Rejects external data, a wrong
/// element count, negative dims and other data types, naming the tensor and the problem.
pub fn tensor_to_f32(t: &TensorProto) -> Result<ArrayD<f32>> {
    use Source as S;
    let src = source(t)?;
    let dims = tensor_dims(t)?;
    let n = tensor_element_count(t)?;
    let dt = DataType::try_from(t.data_type()).map_err(|_| unsupported(t, "f32"))?;
    let data = match (dt, &src) {
        (DataType::Float, S::Raw(r)) => from_raw(t, r, n, |b| Ok(f32::from_le_bytes(b)))?,
        (DataType::Float, S::Float(d)) => from_typed(t, "float_data", d, n, Ok)?,
        (DataType::Double, S::Raw(r)) => from_raw(t, r, n, |b| Ok(f64::from_le_bytes(b) as f32))?,
        (DataType::Double, S::Double(d)) => from_typed(t, "double_data", d, n, |v| Ok(v as f32))?,
        (DataType::Float16, S::Raw(r)) => {
            from_raw(t, r, n, |b| Ok(f16_to_f32(u16::from_le_bytes(b))))?
        }
        (DataType::Bfloat16, S::Raw(r)) => from_raw(t, r, n, |b| {
            Ok(f32::from_bits(u32::from(u16::from_le_bytes(b)) << 16))
        })?,
        (DataType::Float16 | DataType::Bfloat16, S::Int32(d)) => {
            from_typed(t, "int32_data", d, n, |v| {
                let bits = in_range(t, v, 0, 0xffff)? as u32;
                Ok(if dt == DataType::Float16 {
                    f16_to_f32(bits as u16)
                } else {
                    f32::from_bits(bits << 16)
                })
            })?
        }
        _ => tensor_to_i64_data(t, dt, &src, n, true)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
    };
    to_array(t, &dims, data)
}

/// Converts an integer tensor (shapes, axes, indices) to `i64`.
///
/// Accepts INT64, INT32, INT16, INT8, UINT8, UINT16, UINT32, BOOL, and UINT64 values that fit.
pub fn tensor_to_i64(t: &TensorProto) -> Result<ArrayD<i64>> {
    let src = source(t)?;
    let dims = tensor_dims(t)?;
    let n = tensor_element_count(t)?;
    let dt = DataType::try_from(t.data_type()).map_err(|_| unsupported(t, "i64"))?;
    let data = tensor_to_i64_data(t, dt, &src, n, false)?;
    to_array(t, &dims, data)
}

/// The elements of an integer (or BOOL) tensor, widened to `i64`.
///
/// Float types fall through here from [`tensor_to_f32`] only when their source field is wrong
/// (`floats_ok`), which is then reported as such rather than as an unsupported type.
fn tensor_to_i64_data(
    t: &TensorProto,
    dt: DataType,
    src: &Source<'_>,
    n: usize,
    floats_ok: bool,
) -> Result<Vec<i64>> {
    let target = if floats_ok { "f32" } else { "i64" };
    use DataType as D;
    use Source as S;
    let int32 = |d: &[i32], lo: i32, hi: i32| {
        from_typed(t, "int32_data", d, n, |v| {
            Ok(i64::from(in_range(t, v, lo, hi)?))
        })
    };
    match (dt, src) {
        (D::Int64, S::Raw(r)) => from_raw(t, r, n, |b| Ok(i64::from_le_bytes(b))),
        (D::Int64, S::Int64(d)) => from_typed(t, "int64_data", d, n, Ok),
        (D::Int32, S::Raw(r)) => from_raw(t, r, n, |b| Ok(i64::from(i32::from_le_bytes(b)))),
        (D::Int32, S::Int32(d)) => int32(d, i32::MIN, i32::MAX),
        (D::Int16, S::Raw(r)) => from_raw(t, r, n, |b| Ok(i64::from(i16::from_le_bytes(b)))),
        (D::Int16, S::Int32(d)) => int32(d, i16::MIN.into(), i16::MAX.into()),
        (D::Uint16, S::Raw(r)) => from_raw(t, r, n, |b| Ok(i64::from(u16::from_le_bytes(b)))),
        (D::Uint16, S::Int32(d)) => int32(d, 0, u16::MAX.into()),
        (D::Int8, S::Raw(r)) => from_raw(t, r, n, |b| Ok(i64::from(i8::from_le_bytes(b)))),
        (D::Int8, S::Int32(d)) => int32(d, i8::MIN.into(), i8::MAX.into()),
        (D::Uint8, S::Raw(r)) => from_raw(t, r, n, |[b]| Ok(i64::from(b))),
        (D::Uint8, S::Int32(d)) => int32(d, 0, u8::MAX.into()),
        (D::Bool, S::Raw(r)) => from_raw(t, r, n, |[b]| Ok(i64::from(in_range(t, b, 0, 1)?))),
        (D::Bool, S::Int32(d)) => int32(d, 0, 1),
        (D::Uint32, S::Raw(r)) => from_raw(t, r, n, |b| Ok(i64::from(u32::from_le_bytes(b)))),
        (D::Uint32, S::Uint64(d)) => from_typed(t, "uint64_data", d, n, |v| {
            Ok(in_range(t, v, 0, u32::MAX.into())? as i64)
        }),
        (D::Uint64, S::Raw(r)) => from_raw(t, r, n, |b| {
            Ok(in_range(t, u64::from_le_bytes(b), 0, i64::MAX as u64)? as i64)
        }),
        (D::Uint64, S::Uint64(d)) => from_typed(t, "uint64_data", d, n, |v| {
            Ok(in_range(t, v, 0, i64::MAX as u64)? as i64)
        }),
        (D::Int64 | D::Int32 | D::Int16 | D::Uint16 | D::Int8 | D::Uint8 | D::Bool, _)
        | (D::Uint32 | D::Uint64, _) => Err(mismatch(t, src)),
        (D::Float | D::Double | D::Float16 | D::Bfloat16, _) if floats_ok => Err(mismatch(t, src)),
        _ => Err(unsupported(t, target)),
    }
}

/// Row-major dims of an array as ONNX `dims`.
fn onnx_dims(shape: &[usize]) -> Vec<i64> {
    // ndarray keeps every axis length <= isize::MAX, so the conversion is lossless.
    shape.iter().map(|&d| d as i64).collect()
}

/// A FLOAT tensor named `name` holding `a` (row-major, little-endian `raw_data`).
pub fn f32_to_tensor(name: &str, a: &ArrayD<f32>) -> TensorProto {
    TensorProto {
        dims: onnx_dims(a.shape()),
        data_type: Some(DataType::Float as i32),
        name: Some(name.to_owned()),
        raw_data: Some(a.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..TensorProto::default()
    }
}

/// An INT64 tensor named `name` holding `a` (row-major, little-endian `raw_data`).
pub fn i64_to_tensor(name: &str, a: &ArrayD<i64>) -> TensorProto {
    TensorProto {
        dims: onnx_dims(a.shape()),
        data_type: Some(DataType::Int64 as i32),
        name: Some(name.to_owned()),
        raw_data: Some(a.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..TensorProto::default()
    }
}

/// Decodes a serialized `TensorProto` (the format of the conformance `input_N.pb` files).
pub fn decode_tensor(bytes: &[u8]) -> Result<TensorProto> {
    TensorProto::decode(bytes).map_err(|source| IrError::OnnxDecode {
        file: None,
        message: "TensorProto",
        source,
    })
}

/// Serializes a `TensorProto`.
pub fn encode_tensor(t: &TensorProto) -> Vec<u8> {
    t.encode_to_vec()
}

/// Decodes a serialized `ModelProto` (the content of a `.onnx` file).
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto> {
    ModelProto::decode(bytes).map_err(|source| IrError::OnnxDecode {
        file: None,
        message: "ModelProto",
        source,
    })
}

/// Serializes a `ModelProto` (the content of a `.onnx` file).
pub fn encode_model(m: &ModelProto) -> Vec<u8> {
    m.encode_to_vec()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| IrError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// `e` with `path` as the file of a decode error.
pub(crate) fn with_path(path: &Path, e: IrError) -> IrError {
    match e {
        IrError::OnnxDecode {
            file: None,
            message,
            source,
        } => IrError::OnnxDecode {
            file: Some(path.display().to_string()),
            message,
            source,
        },
        other => other,
    }
}

/// Reads and decodes a serialized `TensorProto` file such as `test_data_set_0/input_0.pb`.
pub fn read_tensor_file(path: impl AsRef<Path>) -> Result<TensorProto> {
    let path = path.as_ref();
    decode_tensor(&read(path)?).map_err(|e| with_path(path, e))
}

/// Reads and decodes an `.onnx` model file.
pub fn read_model_file(path: impl AsRef<Path>) -> Result<ModelProto> {
    let path = path.as_ref();
    decode_model(&read(path)?).map_err(|e| with_path(path, e))
}

/// Encodes `m` and writes it to `path` as an `.onnx` file, atomically (see [`super::save`]).
pub fn write_model_file(path: impl AsRef<Path>, m: &ModelProto) -> Result<()> {
    super::write_atomically(path.as_ref(), &encode_model(m))
}

#[cfg(test)]
#[path = "tensor_tests.rs"]
mod tests;
