//! FNV-1a, 64 bits: the checksum of class-path file headers, also used to recognise the data
//! a resumable profiling run covers. Detects corruption and changed inputs; it is not a
//! cryptographic hash (nor an authentication code).

use std::hash::Hasher;

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// A streaming FNV-1a 64 hasher: [`Hasher::write`] the bytes, then [`Hasher::finish`].
///
/// ```
/// use std::hash::Hasher;
/// use effpath_extract::{Fnv1a, fnv1a};
/// let mut h = Fnv1a::default();
/// h.write(b"effective ");
/// h.write_u8(b'p');
/// h.write(b"aths");
/// assert_eq!(h.finish(), fnv1a(b"effective paths"));
/// assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
/// assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(OFFSET_BASIS)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = bytes
            .iter()
            .fold(self.0, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.write(bytes);
    h.finish()
}
