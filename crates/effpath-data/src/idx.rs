//! Reader for the IDX format used by MNIST and Fashion-MNIST.
//!
//! An IDX file is a big-endian `u32` magic number `0x0000_TTNN` (`TT` = element
//! type, `NN` = number of dimensions), `NN` big-endian `u32` dimension sizes,
//! then the elements in row-major order. This module reads unsigned-byte files
//! (`TT = 0x08`): images (`0x0000_0803`, N×rows×cols) and labels
//! (`0x0000_0801`, N). Inputs may be gzip-compressed (detected by the magic
//! bytes `1f 8b`) or plain.
//!
//! Every size is checked, with checked arithmetic, against the bytes actually
//! present and against [`IdxOptions::max_bytes`] before anything is allocated,
//! so no input, however malformed, makes these functions panic or allocate
//! more than the cap.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use ndarray::Array3;

use crate::dataset::Label;
use crate::error::{DataError, Result};

/// Magic number of an IDX file of unsigned-byte images (N×rows×cols).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels (N).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// The two bytes that start a gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Default cap on the declared data size of one IDX file: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// IDX element-type code for unsigned bytes, the only one supported.
const DTYPE_U8: u8 = 0x08;
/// Largest header this module reads: magic plus three dimensions.
const MAX_HEADER_BYTES: u64 = 16;

/// Options for reading IDX data.
///
/// ```
/// use effpath_data::IdxOptions;
/// let opts = IdxOptions::default().with_max_bytes(64 << 20).with_num_classes(10);
/// assert_eq!(opts.num_classes, Some(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdxOptions {
    /// Largest declared data size (elements × 1 byte, header excluded) that is
    /// accepted; larger declarations are rejected with [`DataError::TooLarge`]
    /// before any allocation. Also bounds how much a gzip stream may inflate to.
    pub max_bytes: u64,
    /// If set, every label must be below this number
    /// ([`DataError::LabelOutOfRange`] otherwise).
    pub num_classes: Option<u16>,
}

impl Default for IdxOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl IdxOptions {
    /// Default options: a 1 GiB cap ([`DEFAULT_MAX_BYTES`]) and no label check.
    pub const fn new() -> Self {
        IdxOptions {
            max_bytes: DEFAULT_MAX_BYTES,
            num_classes: None,
        }
    }

    /// Returns these options with the data-size cap set to `max_bytes`.
    pub const fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Returns these options with labels checked to be below `num_classes`.
    pub const fn with_num_classes(mut self, num_classes: u16) -> Self {
        self.num_classes = Some(num_classes);
        self
    }

    /// Most bytes a decompressed or read input may have: the cap, the largest
    /// header, and one more byte so that trailing data is still detected.
    fn input_limit(&self) -> u64 {
        self.max_bytes.saturating_add(MAX_HEADER_BYTES + 1)
    }
}

/// Decodes an IDX image file (gzip or plain) held in memory into an
/// `(N, rows, cols)` array. `input` names the source in error messages.
pub fn decode_images(bytes: &[u8], input: &str, opts: &IdxOptions) -> Result<Array3<u8>> {
    let plain = decompress_if_gzip(bytes, input, opts)?;
    parse_images(plain, input, opts)
}

/// Decodes an IDX label file (gzip or plain) held in memory; each byte becomes a [`Label`].
/// `input` names the source in error messages. Labels are range-checked if
/// [`IdxOptions::num_classes`] is set.
pub fn decode_labels(bytes: &[u8], input: &str, opts: &IdxOptions) -> Result<Vec<Label>> {
    let plain = decompress_if_gzip(bytes, input, opts)?;
    parse_labels(&plain, input, opts)
}

/// Reads an IDX image file (gzip or plain) from `path`; see [`decode_images`].
pub fn read_images(path: impl AsRef<Path>, opts: &IdxOptions) -> Result<Array3<u8>> {
    let path = path.as_ref();
    let input = path.display().to_string();
    let plain = read_limited(path, &input, opts)?;
    parse_images(std::borrow::Cow::Owned(plain), &input, opts)
}

/// Reads an IDX label file (gzip or plain) from `path`; see [`decode_labels`].
pub fn read_labels(path: impl AsRef<Path>, opts: &IdxOptions) -> Result<Vec<Label>> {
    let path = path.as_ref();
    let input = path.display().to_string();
    let plain = read_limited(path, &input, opts)?;
    parse_labels(&plain, &input, opts)
}

/// Checks every label against `num_classes`.
pub fn check_labels(labels: &[u8], num_classes: u16, input: &str) -> Result<()> {
    match labels
        .iter()
        .position(|&label| u16::from(label) >= num_classes)
    {
        None => Ok(()),
        Some(index) => Err(DataError::LabelOutOfRange {
            input: input.to_owned(),
            index,
            // 8 = magic + one dimension.
            offset: 8 + index as u64,
            label: labels[index],
            num_classes,
        }),
    }
}

/// Parses an image file; decompressed (owned) input is reused for the pixels instead of
/// copied, so reading a file needs about one copy of its pixels in memory, not two.
fn parse_images(
    bytes: std::borrow::Cow<'_, [u8]>,
    input: &str,
    opts: &IdxOptions,
) -> Result<Array3<u8>> {
    let ([n, rows, cols], payload) = parse_header::<3>(&bytes, input, "pixel data", opts)?;
    let header_len = bytes.len() - payload.len();
    let pixels = match bytes {
        std::borrow::Cow::Owned(mut v) => {
            v.drain(..header_len);
            v
        }
        std::borrow::Cow::Borrowed(b) => b[header_len..].to_vec(),
    };
    Array3::from_shape_vec((n, rows, cols), pixels).map_err(|_| DataError::SizeOverflow {
        input: input.to_owned(),
        dims: vec![n as u64, rows as u64, cols as u64],
    })
}

/// Parses a label file: the one place an IDX label byte is widened to a [`Label`].
fn parse_labels(bytes: &[u8], input: &str, opts: &IdxOptions) -> Result<Vec<Label>> {
    let (_, payload) = parse_header::<1>(bytes, input, "label data", opts)?;
    if let Some(num_classes) = opts.num_classes {
        check_labels(payload, num_classes, input)?;
    }
    Ok(payload.iter().map(|&l| Label::from(l)).collect())
}

/// Validates the header of an unsigned-byte IDX file with `N` dimensions
/// (`N` <= 3) and returns the dimensions and the payload, whose length is
/// checked to be exactly their product.
fn parse_header<'a, const N: usize>(
    bytes: &'a [u8],
    input: &str,
    what: &'static str,
    opts: &IdxOptions,
) -> Result<([usize; N], &'a [u8])> {
    const { assert!(N >= 1 && N <= 3) };
    let ndim = N as u8;
    let expected_magic = u32::from(DTYPE_U8) << 8 | u32::from(ndim);
    let present = bytes.len() as u64;
    let Some(magic_bytes) = bytes.first_chunk::<4>() else {
        return Err(truncated(input, 0, "magic number", 4, present));
    };
    let magic = u32::from_be_bytes(*magic_bytes);
    let [zero0, zero1, dtype, got_ndim] = *magic_bytes;
    if zero0 != 0 || zero1 != 0 {
        return Err(bad_magic(input, expected_magic, magic));
    }
    if dtype != DTYPE_U8 {
        return Err(DataError::UnsupportedDtype {
            input: input.to_owned(),
            offset: 2,
            expected: DTYPE_U8,
            got: dtype,
        });
    }
    if got_ndim != ndim {
        return Err(bad_magic(input, expected_magic, magic));
    }

    let header_len = 4 + 4 * N;
    let Some(dim_bytes) = bytes.get(4..header_len) else {
        return Err(truncated(
            input,
            4,
            "dimension sizes",
            4 * N as u64,
            present - 4,
        ));
    };
    let mut raw_dims = [0u64; N];
    for (dim, chunk) in raw_dims.iter_mut().zip(dim_bytes.chunks_exact(4)) {
        let mut be = [0u8; 4];
        be.copy_from_slice(chunk);
        *dim = u64::from(u32::from_be_bytes(be));
    }
    let overflow = || DataError::SizeOverflow {
        input: input.to_owned(),
        dims: raw_dims.to_vec(),
    };
    let declared = raw_dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    if declared > opts.max_bytes {
        return Err(DataError::TooLarge {
            input: input.to_owned(),
            declared,
            limit: opts.max_bytes,
        });
    }
    let data_present = present - header_len as u64;
    if data_present < declared {
        return Err(truncated(
            input,
            header_len as u64,
            what,
            declared,
            data_present,
        ));
    }
    if data_present > declared {
        return Err(DataError::TrailingBytes {
            input: input.to_owned(),
            offset: header_len as u64 + declared,
            extra: data_present - declared,
        });
    }
    let mut dims = [0usize; N];
    for (dim, &raw) in dims.iter_mut().zip(&raw_dims) {
        *dim = usize::try_from(raw).map_err(|_| overflow())?;
    }
    let payload = bytes.get(header_len..).ok_or_else(overflow)?;
    Ok((dims, payload))
}

fn truncated(input: &str, offset: u64, what: &'static str, expected: u64, got: u64) -> DataError {
    DataError::Truncated {
        input: input.to_owned(),
        offset,
        what,
        expected,
        got,
    }
}

fn bad_magic(input: &str, expected: u32, got: u32) -> DataError {
    DataError::BadMagic {
        input: input.to_owned(),
        offset: 0,
        expected,
        got,
    }
}

/// Returns `bytes` itself, or its gzip decompression (at most
/// [`IdxOptions::input_limit`] bytes of it) if it starts with the gzip magic.
fn decompress_if_gzip<'a>(
    bytes: &'a [u8],
    input: &str,
    opts: &IdxOptions,
) -> Result<std::borrow::Cow<'a, [u8]>> {
    if bytes.starts_with(&GZIP_MAGIC) {
        Ok(std::borrow::Cow::Owned(gunzip_limited(bytes, input, opts)?))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

fn gunzip_limited(reader: impl Read, input: &str, opts: &IdxOptions) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(reader)
        .take(opts.input_limit())
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            input: input.to_owned(),
            source,
        })?;
    Ok(out)
}

/// Reads a file, decompressing it on the fly if it is gzip, and never reading
/// more than [`IdxOptions::input_limit`] (decompressed) bytes.
fn read_limited(path: &Path, input: &str, opts: &IdxOptions) -> Result<Vec<u8>> {
    let io_err = |source| DataError::io(path, source);
    let file = File::open(path).map_err(io_err)?;
    let mut reader = BufReader::new(file);
    let mut head = Vec::with_capacity(2);
    (&mut reader)
        .take(2)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    let rest = std::io::Cursor::new(head.clone()).chain(reader);
    if head == GZIP_MAGIC {
        gunzip_limited(rest, input, opts)
    } else {
        let mut out = Vec::new();
        rest.take(opts.input_limit())
            .read_to_end(&mut out)
            .map_err(io_err)?;
        Ok(out)
    }
}

#[cfg(test)]
#[path = "idx_tests.rs"]
mod tests;
