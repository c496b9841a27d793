//! The class-path file: [`ClassPaths`] with the options and image counts that built them.
//!
//! The layout is documented on [`ClassPaths::to_bytes`].

use std::io::{Read, Seek};
use std::path::Path;

use effpath_algebra::{Fingerprint, PathSet, PathSetReader};
use effpath_ir::Network;

use crate::checksum::fnv1a;
use crate::error::{ClassFileIssue, ExtractError, OptionIssue, Result};
use crate::extractor::{CheckedExtractOptions, ExtractOptions, Seed};
use crate::profile::ClassPaths;
use crate::select::ThresholdBase;

/// The first 8 bytes of every class-path file.
pub const CLASS_FILE_MAGIC: [u8; 8] = *b"EFCLASS\x01";
/// The class-path file format version written and read by this build.
pub const CLASS_FILE_VERSION: u32 = 1;
/// Largest number of classes in a class-path file.
pub const MAX_CLASSES: u32 = 1 << 20;

/// A bounds-checked little-endian reader over the header.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(ExtractError::ClassFileTruncated {
                what,
                offset: self.bytes.len() as u64,
            });
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn offset(&self) -> u64 {
        self.pos as u64
    }
}

fn malformed(offset: u64, issue: ClassFileIssue) -> ExtractError {
    ExtractError::ClassFile { offset, issue }
}

/// Appends the fixed-size options record.
fn encode_options(o: &ExtractOptions, out: &mut Vec<u8>) {
    out.extend(o.theta.to_le_bytes());
    let (kind, value) = match o.seed {
        Seed::Rank(k) => (0u8, k),
        Seed::Class(c) => (1u8, c),
    };
    out.push(kind);
    out.extend((value as u64).to_le_bytes());
    out.extend((o.last_layers.unwrap_or(0) as u64).to_le_bytes());
    out.push(match o.threshold_base {
        ThresholdBase::ProductSum => 0,
        ThresholdBase::Output => 1,
    });
}

/// Reads and validates the options record ([`ExtractOptions::check`]; the seed is checked
/// against the classes later).
fn decode_options(r: &mut Reader<'_>) -> Result<CheckedExtractOptions> {
    let theta_at = r.offset();
    let theta = f64::from_le_bytes(r.array("theta")?);
    let at = r.offset();
    let kind = r.u8("the seed kind")?;
    let value = r.u64("the seed value")?;
    let value = usize::try_from(value)
        .map_err(|_| malformed(at + 1, ClassFileIssue::SeedValueTooLarge { value }))?;
    let seed = match kind {
        0 if value >= 1 => Seed::Rank(value),
        0 => return Err(malformed(at + 1, ClassFileIssue::SeedRankZero)),
        1 => Seed::Class(value),
        k => return Err(malformed(at, ClassFileIssue::UnknownSeedKind { code: k })),
    };
    let last_at = r.offset();
    let at = last_at;
    let last = r.u64("the number of last layers")?;
    let last_layers = match usize::try_from(last) {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(_) => {
            return Err(malformed(
                at,
                ClassFileIssue::LastLayersTooLarge { value: last },
            ));
        }
    };
    let at = r.offset();
    let threshold_base = match r.u8("the threshold base")? {
        0 => ThresholdBase::ProductSum,
        1 => ThresholdBase::Output,
        b => {
            return Err(malformed(
                at,
                ClassFileIssue::UnknownThresholdBase { code: b },
            ));
        }
    };
    let options = ExtractOptions {
        theta,
        seed,
        last_layers,
        threshold_base,
    };
    options
        .check()
        .map_err(|issue| ExtractError::ClassFileOptions {
            offset: match issue {
                OptionIssue::Theta(_) => theta_at,
                OptionIssue::LastLayers => last_at,
            },
            issue,
        })
}

/// Offset of the class count (magic, version, options record).
const CLASS_COUNT_AT: usize = 8 + 4 + 26;

/// The checked header of a class-path file.
struct Header {
    options: CheckedExtractOptions,
    images: Vec<usize>,
    /// Bytes of the header, its checksum included (where the path set starts).
    len: usize,
}

/// The class-file checks on one path-set label (as [`ClassPaths::try_from_parts`]).
pub(crate) fn check_label(label: u32, images: &[usize]) -> Result<()> {
    match images.get(label as usize) {
        None => Err(ExtractError::ClassOutOfRange {
            class: label as usize,
            classes: images.len(),
        }),
        Some(0) => Err(ExtractError::ClassWithoutImages {
            class: label as usize,
        }),
        Some(_) => Ok(()),
    }
}

/// Reads and checks the header (everything before the path set).
fn decode_header(bytes: &[u8]) -> Result<Header> {
    let mut r = Reader { bytes, pos: 0 };
    let found = r.array::<8>("the magic")?;
    if found != CLASS_FILE_MAGIC {
        return Err(ExtractError::ClassFileMagic {
            found,
            expected: CLASS_FILE_MAGIC,
        });
    }
    let version = r.u32("the format version")?;
    if version != CLASS_FILE_VERSION {
        return Err(ExtractError::ClassFileVersion {
            found: version,
            supported: CLASS_FILE_VERSION,
        });
    }
    let options = decode_options(&mut r)?;
    let at = r.offset();
    let classes = r.u32("the number of classes")?;
    if classes == 0 || classes > MAX_CLASSES {
        return Err(malformed(at, ClassFileIssue::ClassCount { classes }));
    }
    let classes = classes as usize;
    match options.seed {
        Seed::Rank(k) if k > classes => {
            return Err(malformed(at, ClassFileIssue::SeedRank { rank: k, classes }));
        }
        Seed::Class(c) if c >= classes => {
            return Err(malformed(
                at,
                ClassFileIssue::SeedClass { class: c, classes },
            ));
        }
        _ => {}
    }
    // All counts must be present before anything is allocated for them.
    let counts_at = r.offset();
    let counts = r.take(classes * 8, "the images per class")?;
    let mut images = Vec::with_capacity(classes);
    for (i, chunk) in counts.chunks_exact(8).enumerate() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let n = u64::from_le_bytes(word);
        let at = counts_at + 8 * i as u64;
        images.push(usize::try_from(n).map_err(|_| {
            malformed(
                at,
                ClassFileIssue::ImageCountTooLarge { class: i, count: n },
            )
        })?);
    }
    let header_end = r.pos;
    let at = r.offset();
    let stored = r.u64("the header checksum")?;
    let computed = fnv1a(&bytes[..header_end]);
    if stored != computed {
        return Err(malformed(
            at,
            ClassFileIssue::HeaderChecksum { stored, computed },
        ));
    }
    Ok(Header {
        options,
        images,
        len: r.pos,
    })
}

impl ClassPaths {
    /// The class paths in the class-path file format.
    ///
    /// All integers are little-endian. Layout (version [`CLASS_FILE_VERSION`] = 1):
    ///
    /// | bytes | field |
    /// |---|---|
    /// | 8 | magic [`CLASS_FILE_MAGIC`] = `b"EFCLASS\x01"` |
    /// | 4 | format version `u32` |
    /// | 8 | θ `f64`, in (0, 1] |
    /// | 1 | seed kind `u8`: 0 = rank, 1 = fixed class |
    /// | 8 | seed value `u64`: the rank (≥ 1) or the class |
    /// | 8 | last layers `u64`: 0 = the whole network, else the number of weighted layers |
    /// | 1 | threshold base `u8`: 0 = product sum, 1 = output |
    /// | 4 | number of classes `u32` (1 ≤ C ≤ [`MAX_CLASSES`]) |
    /// | 8 × C | images per class `u64` |
    /// | 8 | FNV-1a 64 checksum of every preceding byte |
    /// | rest | the class paths as an effpath-algebra path-set file ([`PathSet::to_bytes`]), labels = classes; it carries the network fingerprint and its own SHA-256 |
    ///
    /// Loading checks the magic, the version, every header field, the header checksum, then
    /// the path set (with the expected network fingerprint, if one is given), that its labels are
    /// classes and that every class with a path has images. Every failure is a typed
    /// [`ExtractError`]; no input makes the reader panic.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(CLASS_FILE_MAGIC);
        out.extend(CLASS_FILE_VERSION.to_le_bytes());
        encode_options(self.options(), &mut out);
        out.extend((self.classes() as u32).to_le_bytes());
        for &n in self.images_per_class() {
            out.extend((n as u64).to_le_bytes());
        }
        out.extend(fnv1a(&out).to_le_bytes());
        out.extend(self.path_set().to_bytes());
        out
    }

    /// Reads a class-path file from bytes. With `expected`, a file of another network is
    /// refused ([`AlgebraError::FingerprintMismatch`](effpath_algebra::AlgebraError)).
    ///
    /// ```
    /// use effpath_extract::{ClassPaths, ProfileOptions};
    /// let net = effpath_ir::zoo::lenet5(4);
    /// let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[2, 1, 28, 28]), 0.5f32);
    /// let pred = net.predict(&x)?.rows().into_iter()
    ///     .map(|r| effpath_ir::argmax(r.iter().copied()))
    ///     .collect::<Vec<usize>>();
    /// let cp = ClassPaths::profile(&net, &x, &pred, &ProfileOptions::default(), |_, _| {})?;
    /// let bytes = cp.to_bytes();
    /// let fp = net.fingerprint();
    /// assert_eq!(ClassPaths::from_bytes(&bytes, Some(fp))?, cp);
    /// assert!(ClassPaths::from_bytes(&bytes, Some([0; 32].into())).is_err());
    /// assert!(ClassPaths::from_bytes(&bytes[..40], None).is_err());
    /// # Ok::<(), effpath_extract::ExtractError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8], expected: Option<Fingerprint>) -> Result<ClassPaths> {
        let header = decode_header(bytes)?;
        let rest = &bytes[header.len..];
        let paths = match expected {
            Some(fp) => PathSet::load_checked(rest, fp)?,
            None => PathSet::from_bytes(rest)?,
        };
        ClassPaths::try_from_parts(paths, header.images, header.options)
    }

    /// Reads the path of one class from a class-path file without loading the other classes
    /// (the header and the path-set index are read and checked, then only that class's body):
    /// `None` if the class has no path. The file starts at the reader's position. A file whose
    /// path set is in the legacy format v1 (no index) is read whole. Labels are checked as by
    /// [`ClassPaths::from_bytes`]: every class with a path must have images.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use effpath_extract::{ClassPaths, ProfileOptions};
    /// let net = effpath_ir::zoo::lenet5(4);
    /// let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[2, 1, 28, 28]), 0.5f32);
    /// let pred = net.predict(&x)?.rows().into_iter()
    ///     .map(|r| effpath_ir::argmax(r.iter().copied()))
    ///     .collect::<Vec<usize>>();
    /// let cp = ClassPaths::profile(&net, &x, &pred, &ProfileOptions::default(), |_, _| {})?;
    /// let fp = Some(net.fingerprint());
    /// let one = ClassPaths::read_class_from(Cursor::new(cp.to_bytes()), pred[0] as u32, fp)?;
    /// assert_eq!(one.as_ref(), cp.path_set().get(pred[0] as u32));
    /// # Ok::<(), effpath_extract::ExtractError>(())
    /// ```
    pub fn read_class_from<R: Read + Seek>(
        mut reader: R,
        class: u32,
        expected: Option<Fingerprint>,
    ) -> Result<Option<effpath_algebra::Path>> {
        // The fixed part up to the class count, then the image counts and the checksum.
        let mut head = Vec::new();
        (&mut reader)
            .take(CLASS_COUNT_AT as u64 + 4)
            .read_to_end(&mut head)
            .map_err(effpath_algebra::AlgebraError::from)?;
        if let Some(count) = head.get(CLASS_COUNT_AT..CLASS_COUNT_AT + 4) {
            let classes = u32::from_le_bytes(count.try_into().unwrap_or_default());
            if classes <= MAX_CLASSES {
                (&mut reader)
                    .take(u64::from(classes) * 8 + 8)
                    .read_to_end(&mut head)
                    .map_err(effpath_algebra::AlgebraError::from)?;
            }
        }
        let header = decode_header(&head)?;
        let mut paths = match expected {
            Some(fp) => PathSetReader::open_checked(reader, fp)?,
            None => PathSetReader::open(reader)?,
        };
        for label in paths.labels() {
            check_label(label, &header.images)?;
        }
        Ok(paths.read(class)?)
    }

    /// Reads the path of one class from a class-path file; see
    /// [`ClassPaths::read_class_from`].
    pub fn read_class(
        path: impl AsRef<Path>,
        class: u32,
        expected: Option<Fingerprint>,
    ) -> Result<Option<effpath_algebra::Path>> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| effpath_data::DataError::io(path, e))?;
        ClassPaths::read_class_from(std::io::BufReader::new(file), class, expected)
    }

    /// Writes the class-path file atomically (temporary file + rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.to_bytes();
        effpath_data::write_atomic(path, |w| w.write_all(&bytes))?;
        Ok(())
    }

    /// Reads a class-path file; see [`ClassPaths::from_bytes`].
    pub fn load(path: impl AsRef<Path>, expected: Option<Fingerprint>) -> Result<ClassPaths> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| effpath_data::DataError::io(path, e))?;
        ClassPaths::from_bytes(&bytes, expected)
    }

    /// Reads a class-path file that must belong to `net` (its fingerprint is checked): the
    /// one call a user of a network and its class paths needs.
    ///
    /// ```no_run
    /// let net = effpath_ir::zoo::lenet5(0);
    /// let cp = effpath_extract::ClassPaths::load_for("classpaths.bin", &net)?;
    /// # Ok::<(), effpath_extract::ExtractError>(())
    /// ```
    pub fn load_for(path: impl AsRef<Path>, net: &Network) -> Result<ClassPaths> {
        ClassPaths::load(path, Some(net.fingerprint()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use effpath_algebra::{AlgebraError, ElementKind, LayerSpace, PathSpace};
    use effpath_ir::Network;
    use ndarray::{ArrayD, Axis, IxDyn};

    use super::*;
    use crate::profile::ProfileOptions;

    /// `n` varied inputs for LeNet, labelled with the network's own predictions.
    fn inputs(net: &Network, n: usize) -> (ArrayD<f32>, Vec<usize>) {
        let x = ArrayD::from_shape_fn(IxDyn(&[n, 1, 28, 28]), |d| {
            ((d[0] * 31 + d[2] * 7 + d[3] * d[0] + d[2] * d[3]) % 17) as f32 / 17.0
        });
        let labels = net
            .predict(&x)
            .unwrap()
            .rows()
            .into_iter()
            .map(|r| effpath_ir::argmax(r.iter().copied()))
            .collect();
        (x, labels)
    }

    fn profile(net: &Network, x: &ArrayD<f32>, labels: &[usize], o: ExtractOptions) -> ClassPaths {
        let options = ProfileOptions {
            extract: o,
            batch_size: 5,
            ..ProfileOptions::default()
        };
        ClassPaths::profile(net, x, labels, &options, |_, _| {}).unwrap()
    }

    #[test]
    fn load_for_accepts_its_network_and_refuses_another() {
        let net = effpath_ir::zoo::lenet5(4);
        let (x, labels) = inputs(&net, 4);
        let cp = profile(&net, &x, &labels, ExtractOptions::default());
        let dir = std::env::temp_dir().join(format!("effpath-load-for-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("cp.bin");
        cp.save(&file).unwrap();
        assert_eq!(ClassPaths::load_for(&file, &net).unwrap(), cp);
        let other = effpath_ir::zoo::lenet5(5);
        assert!(ClassPaths::load_for(&file, &other).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A small class-path set over a tiny space (a few hundred bytes as a file).
    fn tiny() -> ClassPaths {
        let space = Arc::new(
            PathSpace::new(
                [7; 32],
                vec![
                    LayerSpace::max_pool2d("pool", 1, [2, 2], [1, 2]).unwrap(),
                    LayerSpace::dense("fc", 2, 3).unwrap(),
                ],
            )
            .unwrap(),
        );
        let mut set = PathSet::new(&space);
        for (label, syn) in [(0u32, [0usize, 3]), (2, [1, 5])] {
            let mut p = effpath_algebra::Path::empty(&space);
            p.insert_many(1, ElementKind::Synapse, &syn).unwrap();
            p.insert_neuron(0, label as usize / 2).unwrap();
            set.insert(label, p).unwrap();
        }
        let o = ExtractOptions::default()
            .with_theta(0.3)
            .with_seed(Seed::Class(2))
            .with_last_layers(1)
            .with_threshold_base(ThresholdBase::Output)
            .check()
            .unwrap();
        ClassPaths::try_from_parts(set, vec![4, 0, 9], o).unwrap()
    }

    #[test]
    fn round_trip_bytes_and_file() {
        let cp = tiny();
        let bytes = cp.to_bytes();
        assert_eq!(&bytes[..8], b"EFCLASS\x01");
        let back = ClassPaths::from_bytes(&bytes, Some([7; 32].into())).unwrap();
        assert_eq!(back, cp);
        assert_eq!(back.options().theta, 0.3);
        assert_eq!(back.images_per_class(), &[4, 0, 9]);

        let net = effpath_ir::zoo::lenet5(11);
        let (x, labels) = inputs(&net, 6);
        let cp = profile(&net, &x, &labels, ExtractOptions::default());
        assert_eq!(cp.images_per_class().iter().sum::<usize>(), 6);
        let path =
            std::env::temp_dir().join(format!("effpath-classfile-{}.bin", std::process::id()));
        cp.save(&path).unwrap();
        let fp = net.fingerprint();
        let loaded = ClassPaths::load(&path, Some(fp));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.unwrap(), cp);
        assert!(matches!(
            ClassPaths::load(&path, None),
            Err(ExtractError::Data(_))
        ));
    }

    #[test]
    fn wrong_fingerprint_is_refused() {
        let bytes = tiny().to_bytes();
        let err = ClassPaths::from_bytes(&bytes, Some([8; 32].into())).unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::Algebra(AlgebraError::FingerprintMismatch { .. })
            ),
            "{err}"
        );
        assert!(ClassPaths::from_bytes(&bytes, None).is_ok());
    }

    #[test]
    fn every_truncation_and_header_corruption_is_an_error() {
        let bytes = tiny().to_bytes();
        for len in 0..bytes.len() {
            assert!(
                ClassPaths::from_bytes(&bytes[..len], None).is_err(),
                "{len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ClassPaths::from_bytes(&longer, None).is_err());
        // Flipping any header bit is caught (field checks or the checksum).
        let header = 8 + 4 + 26 + 4 + 3 * 8 + 8;
        for i in 0..header {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    ClassPaths::from_bytes(&bad, None).is_err(),
                    "byte {i} bit {bit}"
                );
            }
        }
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(
            ClassPaths::from_bytes(&bad, None),
            Err(ExtractError::ClassFileMagic { .. })
        ));
        let mut bad = bytes.clone();
        bad[8] = 2;
        let err = ClassPaths::from_bytes(&bad, None).unwrap_err();
        assert!(matches!(
            err,
            ExtractError::ClassFileVersion {
                found: 2,
                supported: 1
            }
        ));
        assert!(err.to_string().contains("newer"), "{err}");
        assert!(matches!(
            ClassPaths::from_bytes(&bytes[..20], None),
            Err(ExtractError::ClassFileTruncated { .. })
        ));
    }

    #[test]
    fn a_file_with_theta_out_of_range_is_refused_with_the_options_issue() {
        let bytes = tiny().to_bytes();
        let theta_at = 8 + 4;
        for theta in [0.0f64, -0.5, 1.5, f64::NAN] {
            let mut bad = bytes.clone();
            bad[theta_at..theta_at + 8].copy_from_slice(&theta.to_le_bytes());
            // Re-seal the header so that only the θ rule can refuse it.
            let header_end = 8 + 4 + 26 + 4 + 3 * 8;
            let sum = fnv1a(&bad[..header_end]);
            bad[header_end..header_end + 8].copy_from_slice(&sum.to_le_bytes());
            let err = ClassPaths::from_bytes(&bad, None).unwrap_err();
            match &err {
                ExtractError::ClassFileOptions {
                    offset: 12,
                    issue: OptionIssue::Theta(t),
                } => assert!(t.to_bits() == theta.to_bits(), "{err}"),
                other => panic!("theta {theta}: {other:?}"),
            }
            assert_eq!(
                err.to_string(),
                format!(
                    "malformed class-path file at byte 12: theta must be in (0, 1], got {theta}"
                )
            );
        }
    }

    #[test]
    fn malformed_header_fields_name_the_typed_issue() {
        let bytes = tiny().to_bytes();
        let classes = u32::from_le_bytes(bytes[38..42].try_into().unwrap());
        let header_end = CLASS_COUNT_AT + 4 + 8 * classes as usize;
        let edit = |at: usize, with: &[u8]| {
            let mut bad = bytes.clone();
            bad[at..at + with.len()].copy_from_slice(with);
            // Re-seal the header so that only the field check can refuse it.
            let sum = fnv1a(&bad[..header_end]);
            bad[header_end..header_end + 8].copy_from_slice(&sum.to_le_bytes());
            ClassPaths::from_bytes(&bad, None).unwrap_err()
        };
        let err = edit(20, &[7]);
        assert!(
            matches!(
                err,
                ExtractError::ClassFile {
                    offset: 20,
                    issue: ClassFileIssue::UnknownSeedKind { code: 7 },
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "malformed class-path file at byte 20: unknown seed kind 7"
        );
        let err = edit(37, &[5]);
        assert!(
            matches!(
                err,
                ExtractError::ClassFile {
                    offset: 37,
                    issue: ClassFileIssue::UnknownThresholdBase { code: 5 },
                }
            ),
            "{err:?}"
        );
        // The file's seed is class 2: a rank seed of 0, then a class seed beyond the classes.
        let err = edit(20, &[0; 9]);
        assert!(
            matches!(
                err,
                ExtractError::ClassFile {
                    offset: 21,
                    issue: ClassFileIssue::SeedRankZero,
                }
            ),
            "{err:?}"
        );
        let err = edit(21, &9u64.to_le_bytes());
        assert!(
            matches!(
                err,
                ExtractError::ClassFile {
                    offset: 38,
                    issue: ClassFileIssue::SeedClass { class: 9, classes: c },
                } if c == classes as usize
            ),
            "{err:?}"
        );
        let err = edit(CLASS_COUNT_AT, &(MAX_CLASSES + 1).to_le_bytes());
        assert!(
            matches!(
                err,
                ExtractError::ClassFile {
                    offset: 38,
                    issue: ClassFileIssue::ClassCount { classes },
                } if classes == MAX_CLASSES + 1
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().ends_with(&format!(
                "{} classes (expected 1 to {MAX_CLASSES})",
                MAX_CLASSES + 1
            )),
            "{err}"
        );
        // A flipped stored checksum: the header checksum check refuses it.
        let mut bad = bytes.clone();
        bad[header_end] ^= 1;
        let stored = u64::from_le_bytes(bad[header_end..header_end + 8].try_into().unwrap());
        let computed = fnv1a(&bytes[..header_end]);
        let err = ClassPaths::from_bytes(&bad, None).unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::ClassFile {
                    offset,
                    issue: ClassFileIssue::HeaderChecksum { stored: s, computed: c },
                } if offset == header_end as u64 && s == stored && c == computed
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("header checksum mismatch"),
            "{err}"
        );
    }

    #[test]
    fn one_class_reads_alone() {
        let cp = tiny();
        let bytes = cp.to_bytes();
        let read = |bytes: &[u8], class| {
            ClassPaths::read_class_from(std::io::Cursor::new(bytes), class, Some([7; 32].into()))
        };
        for class in 0..4 {
            assert_eq!(
                read(&bytes, class).unwrap().as_ref(),
                cp.path_set().get(class)
            );
        }
        assert!(matches!(
            ClassPaths::read_class_from(std::io::Cursor::new(&bytes), 0, Some([8; 32].into())),
            Err(ExtractError::Algebra(
                AlgebraError::FingerprintMismatch { .. }
            ))
        ));
        // Corrupt the last byte of the body of class 0 (just before the body of class 2).
        let class2 = cp.path_set().get(2).unwrap();
        let class2_body = PathSet::from_paths(cp.path_set().space(), [(2, class2.clone())])
            .unwrap()
            .to_bytes()
            .len()
            - (PathSet::new(cp.path_set().space()).to_bytes().len() + 20);
        let mut bad = bytes.clone();
        let at = bad.len() - class2_body - 1;
        bad[at] ^= 1;
        let err = read(&bad, 0).unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::Algebra(AlgebraError::BodyChecksumMismatch { label: 0, .. })
            ),
            "{err}"
        );
        assert_eq!(read(&bad, 2).unwrap().as_ref(), Some(class2));
        assert!(ClassPaths::from_bytes(&bad, None).is_err());
        // A corrupted class-file header is refused before the path set is looked at.
        let mut bad = bytes.clone();
        bad[13] ^= 1;
        assert!(read(&bad, 2).is_err());
        assert!(read(&bytes[..30], 2).is_err());

        let path =
            std::env::temp_dir().join(format!("effpath-classfile-one-{}.bin", std::process::id()));
        cp.save(&path).unwrap();
        let one = ClassPaths::read_class(&path, 2, None);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(one.unwrap().as_ref(), Some(class2));
        assert!(matches!(
            ClassPaths::read_class(&path, 2, None),
            Err(ExtractError::Data(_))
        ));
    }

    /// A class-path file written before path-file format v2 (its path set is v1) still loads;
    /// saved again, it holds a v2 path set.
    #[test]
    fn class_files_with_a_v1_path_set_load() {
        let v1 = include_bytes!("../tests/data/v1-small-net-classes.bin");
        let cp = ClassPaths::from_bytes(v1, None).unwrap();
        let v2 = cp.to_bytes();
        assert_ne!(&v2[..], &v1[..]);
        assert_eq!(ClassPaths::from_bytes(&v2, None).unwrap(), cp);
        for class in 0..cp.classes() as u32 {
            let cursor = std::io::Cursor::new(&v1[..]);
            let one = ClassPaths::read_class_from(cursor, class, None).unwrap();
            assert_eq!(one.as_ref(), cp.path_set().get(class));
        }
    }

    #[test]
    fn labels_must_be_classes_with_images() {
        let cp = tiny();
        let set = cp.path_set().clone();
        let o = cp.checked_options();
        assert!(ClassPaths::try_from_parts(set.clone(), vec![1, 1], o).is_err());
        assert!(ClassPaths::try_from_parts(set, vec![1, 1, 0], o).is_err());
    }

    #[test]
    fn merged_halves_equal_the_whole() {
        let net = effpath_ir::zoo::lenet5(5).with_random_weights(9);
        let (x, labels) = inputs(&net, 12);
        let o = ExtractOptions::default().with_theta(0.4);
        let whole = profile(&net, &x, &labels, o);
        let half = |r: std::ops::Range<usize>| {
            let xs = x.slice_axis(Axis(0), r.clone().into()).to_owned();
            profile(&net, &xs, &labels[r], o)
        };
        let mut merged = half(0..7);
        merged.merge(&half(7..12)).unwrap();
        assert_eq!(merged, whole);
        assert_eq!(merged.to_bytes(), whole.to_bytes());

        // Other options or another network: refused, nothing changed.
        let other = profile(&net, &x, &labels, ExtractOptions::default());
        assert!(matches!(
            merged.merge(&other),
            Err(ExtractError::Mismatch(_))
        ));
        let net2 = effpath_ir::zoo::lenet5(6);
        let (x2, labels2) = inputs(&net2, 3);
        let foreign = profile(&net2, &x2, &labels2, o);
        assert!(matches!(
            merged.merge(&foreign),
            Err(ExtractError::Algebra(AlgebraError::SpaceMismatch { .. }))
        ));
        assert_eq!(merged, whole);
    }
}
