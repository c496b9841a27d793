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
mod fold;
mod import;
mod ops;
pub mod proto;
pub mod tensor;

use std::path::Path;

pub use export::export_model;
pub use import::import_model;

use crate::error::{IrError, Result};
use crate::graph::Network;

/// ONNX metadata key holding a network's input normalisation as `"mean,std"`.
pub const NORMALIZATION_KEY: &str = "effpath.input_normalization";

/// Import limit on the number of nodes of an ONNX graph.
pub const MAX_NODES: usize = 100_000;
/// Import limit on the element count of a constant built by `ConstantOfShape`.
pub const MAX_CONST_ELEMENTS: usize = 1 << 28;

/// Decodes and imports an ONNX model from its bytes.
pub fn from_bytes(bytes: &[u8]) -> Result<Network> {
    import_model(&tensor::decode_model(bytes)?)
}

/// Reads and imports an `.onnx` file.
pub fn load(path: impl AsRef<Path>) -> Result<Network> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| IrError::Io {
        path: path.display().to_string(),
        source,
    })?;
    from_bytes(&bytes).map_err(|e| match e {
        IrError::OnnxDecode(m) => IrError::OnnxDecode(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Exports a network to ONNX bytes.
pub fn to_bytes(net: &Network) -> Vec<u8> {
    tensor::encode_model(&export_model(net))
}

/// Writes a network as an `.onnx` file, atomically (temporary file, then rename), so an
/// interrupted write never leaves a truncated model behind.
pub fn save(net: &Network, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let io = |source| IrError::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension(format!("onnx.tmp{}", std::process::id()));
    std::fs::write(&tmp, to_bytes(net)).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
