//! A minimal PNG encoder for 8-bit RGB images (one zlib-compressed IDAT chunk, filter 0),
//! so that figures can be rendered in memory and written atomically.

use std::io::Write;

use anyhow::{Result, bail};
use flate2::Compression;
use flate2::write::ZlibEncoder;

/// The 8 bytes every PNG file starts with.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// CRC-32 (IEEE, as PNG chunks use it) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Appends one chunk: length, type, data, CRC of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Result<()> {
    let Ok(len) = u32::try_from(data.len()) else {
        bail!("PNG chunk of {} bytes is too large", data.len());
    };
    out.extend(len.to_be_bytes());
    let start = out.len();
    out.extend(kind);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
    Ok(())
}

/// Encodes a `width`×`height` image of row-major RGB triples as a PNG file.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let row = width as usize * 3;
    if width == 0 || height == 0 || rgb.len() != row * height as usize {
        bail!("{} bytes are not a {width}×{height} RGB image", rgb.len());
    }
    let mut header = Vec::with_capacity(13);
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    // 8 bits per channel, colour type 2 (RGB), deflate, filter method 0, no interlace.
    header.extend([8, 2, 0, 0, 0]);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    for line in rgb.chunks_exact(row) {
        z.write_all(&[0])?;
        z.write_all(line)?;
    }
    let data = z.finish()?;
    let mut out = SIGNATURE.to_vec();
    chunk(&mut out, b"IHDR", &header)?;
    chunk(&mut out, b"IDAT", &data)?;
    chunk(&mut out, b"IEND", &[])?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn crc_of_known_inputs() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn encodes_a_decodable_image() -> Result<()> {
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8 * 10).collect();
        let png = encode_rgb(3, 2, &rgb)?;
        assert_eq!(png[..8], SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(png[16..24], [0, 0, 0, 3, 0, 0, 0, 2]);
        assert_eq!(&png[png.len() - 12..], b"\0\0\0\0IEND\xaeB`\x82");
        let idat_len = u32::from_be_bytes([png[33], png[34], png[35], png[36]]) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[41..41 + idat_len]).read_to_end(&mut raw)?;
        assert_eq!(raw.len(), 2 * (1 + 9));
        assert_eq!(raw[0], 0);
        assert_eq!(&raw[1..10], &rgb[..9]);
        assert!(encode_rgb(3, 3, &rgb).is_err());
        assert!(encode_rgb(0, 0, &[]).is_err());
        Ok(())
    }
}
