//! ONNX external data: initializers whose bytes live in a file next to the model (what
//! `torch.onnx.export(..., dynamo=True)` writes as `<model>.onnx.data`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

use super::proto::tensor_proto::DataLocation;
use super::proto::{ModelProto, TensorProto};
use crate::error::{IrError, Result, TensorIssue};

fn bad(t: &TensorProto, issue: TensorIssue) -> IrError {
    IrError::OnnxTensor {
        name: t.name().to_owned(),
        issue: Box::new(issue),
    }
}

/// Loads the external bytes of every initializer of `model` from files relative to `dir`
/// into `raw_data`. A location must be a relative path inside `dir` (no `..`, no root); the
/// `offset`/`length` must lie inside the file.
pub(super) fn resolve(model: &mut ModelProto, dir: &Path) -> Result<()> {
    let Some(graph) = model.graph.as_mut() else {
        return Ok(());
    };
    let mut files: HashMap<String, (File, u64)> = HashMap::new();
    for t in &mut graph.initializer {
        if t.data_location != Some(DataLocation::External as i32) {
            continue;
        }
        let get = |k: &str| {
            t.external_data
                .iter()
                .find(|e| e.key() == k)
                .map(|e| e.value().to_owned())
        };
        let location = get("location").ok_or_else(|| bad(t, TensorIssue::NoLocation))?;
        let num = |key: &'static str| -> Result<Option<u64>> {
            get(key)
                .map(|value| {
                    value
                        .parse::<u64>()
                        .map_err(|_| bad(t, TensorIssue::ExternalNumber { key, value }))
                })
                .transpose()
        };
        let (offset, length) = (num("offset")?.unwrap_or(0), num("length")?);
        let rel = Path::new(&location);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(bad(t, TensorIssue::ExternalPath { location }));
        }
        if !files.contains_key(&location) {
            let path = dir.join(rel);
            let io = |source| IrError::Io {
                path: path.display().to_string(),
                source,
            };
            let f = File::open(&path).map_err(io)?;
            let len = f.metadata().map_err(io)?.len();
            files.insert(location.clone(), (f, len));
        }
        let Some((f, size)) = files.get_mut(&location) else {
            continue;
        };
        let length = length.unwrap_or(size.saturating_sub(offset));
        if offset.checked_add(length).is_none_or(|end| end > *size) {
            return Err(bad(
                t,
                TensorIssue::ExternalRange {
                    offset,
                    length,
                    location,
                    size: *size,
                },
            ));
        }
        let io = |source| IrError::Io {
            path: location.clone(),
            source,
        };
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut buf = vec![0u8; length as usize];
        f.read_exact(&mut buf).map_err(io)?;
        t.raw_data = Some(buf);
        t.data_location = None;
        t.external_data.clear();
    }
    Ok(())
}
