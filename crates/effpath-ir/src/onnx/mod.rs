//! ONNX import and export.
//!
//! [`load`] reads an `.onnx` file (opset 6 and later, as exported by PyTorch or the ONNX model
//! zoo) into a [`Network`]; [`save`] writes a network as an opset-11 ONNX model that any ONNX
//! runtime can execute. Constant subgraphs (`Constant`, `ConstantOfShape`, `Shape`-based
//! reshape targets, transposed weights) are folded at import; `Identity` and `Dropout`
//! disappear; per-channel `Mul`/`Add` by constants are folded into the preceding batch norm.
//! Anything else that effpath cannot compute exactly is an [`IrError::OnnxNode`] naming the
//! node, its op type and what is missing.
//!
//! ```
//! let net = effpath_ir::zoo::lenet5(0);
//! let bytes = effpath_ir::onnx::to_bytes(&net);
//! let back = effpath_ir::onnx::from_bytes(&bytes)?;
//! assert_eq!(back.fingerprint(), net.fingerprint());
//! # Ok::<(), effpath_ir::IrError>(())
//! ```

pub mod attr;
mod export;
mod export_ops;
mod external_data;
mod fold;
mod fold_slice;
mod import;
mod ops;
mod ops_ext;
pub mod proto;
pub mod tensor;

use std::path::Path;

pub use export::export_model;
pub use import::{import_model, import_model_with};

use crate::error::{IrError, Result};
use crate::graph::Network;

/// ONNX metadata key holding a network's input normalisation as `"mean,std"`.
pub const NORMALIZATION_KEY: &str = "effpath.input_normalization";

/// Import limit on the number of nodes of an ONNX graph.
pub const MAX_NODES: usize = 100_000;
/// Import limit on the element count of a constant built by `ConstantOfShape`.
pub const MAX_CONST_ELEMENTS: usize = 1 << 28;
/// Import limit on the rank of any tensor (initializer, constant, graph input, value).
pub const MAX_RANK: usize = 16;
/// Import limit on the total number of elements of all constants together (initializers,
/// `Constant`s and every folded constant): 2³⁰ elements, 4 GiB of `f32`.
pub const MAX_TOTAL_ELEMENTS: usize = 1 << 30;

/// Limits of an ONNX import, checked *before* anything of that size is allocated.
///
/// The defaults ([`MAX_NODES`], [`MAX_RANK`], [`MAX_TOTAL_ELEMENTS`], [`MAX_CONST_ELEMENTS`])
/// admit every model-zoo CNN (VGG-19 has 1.4·10⁸ weights); a service importing untrusted
/// models can lower them.
///
/// ```
/// use effpath_ir::onnx::{self, ImportLimits};
/// let bytes = onnx::to_bytes(&effpath_ir::zoo::lenet5(0));
/// let small = ImportLimits { max_total_elements: 1_000, ..ImportLimits::default() };
/// let err = onnx::from_bytes_with(&bytes, &small).unwrap_err();
/// assert!(err.to_string().contains("import limit"), "{err}");
/// assert!(onnx::from_bytes_with(&bytes, &ImportLimits::default()).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Most nodes in the graph.
    pub max_nodes: usize,
    /// Highest rank of any tensor.
    pub max_rank: usize,
    /// Most elements of all constants together (initializers and folded constants).
    pub max_total_elements: usize,
    /// Most elements of one constant made by `ConstantOfShape` or constant folding.
    pub max_const_elements: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_nodes: MAX_NODES,
            max_rank: MAX_RANK,
            max_total_elements: MAX_TOTAL_ELEMENTS,
            max_const_elements: MAX_CONST_ELEMENTS,
        }
    }
}

/// Decodes and imports an ONNX model from its bytes, with the default [`ImportLimits`].
pub fn from_bytes(bytes: &[u8]) -> Result<Network> {
    from_bytes_with(bytes, &ImportLimits::default())
}

/// Decodes and imports an ONNX model from its bytes within `limits`.
pub fn from_bytes_with(bytes: &[u8], limits: &ImportLimits) -> Result<Network> {
    import_model_with(&tensor::decode_model(bytes)?, limits)
}

/// Reads and imports an `.onnx` file, with the default [`ImportLimits`].
pub fn load(path: impl AsRef<Path>) -> Result<Network> {
    load_with(path, &ImportLimits::default())
}

/// Reads and imports an `.onnx` file within `limits`. Initializers stored as external data
/// (`torch.onnx.export(..., dynamo=True)` writes `<model>.onnx.data`) are read from their
/// file next to the model.
pub fn load_with(path: impl AsRef<Path>, limits: &ImportLimits) -> Result<Network> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| IrError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut model = tensor::decode_model(&bytes).map_err(|e| tensor::with_path(path, e))?;
    // The file's bytes are not needed once decoded: free them before the weights are copied
    // into the network (one copy of a 100 MB model less at the peak).
    drop(bytes);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    external_data::resolve(&mut model, dir)?;
    import_model_with(&model, limits)
}

/// Exports a network to ONNX bytes.
pub fn to_bytes(net: &Network) -> Vec<u8> {
    tensor::encode_model(&export_model(net))
}

/// Writes a network as an `.onnx` file, atomically (temporary file in the same directory,
/// flushed to disk, then renamed over `path`), so an interrupted write never leaves a
/// truncated model behind.
pub fn save(net: &Network, path: impl AsRef<Path>) -> Result<()> {
    write_atomically(path.as_ref(), &to_bytes(net))
}

/// Writes `bytes` to `path` through a uniquely named temporary file `.NAME.PID.N.tmp` next to
/// it, `fsync`ed and renamed over `path`; the temporary file is removed on any error.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io = |p: &Path, source| IrError::Io {
        path: p.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .map_err(|e| io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else if let Ok(d) = std::fs::File::open(dir) {
        // Make the rename durable where the platform allows it (best effort).
        let _ = d.sync_all();
    }
    result
}
