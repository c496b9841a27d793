//! Atomic file writing: write to a temporary file in the destination's
//! directory, flush and `fsync` it, then rename it over the destination.
//!
//! Readers therefore see either the old file or the complete new one, never a
//! half-written file; if writing fails (or the closure returns an error or
//! panics) the temporary file is removed and the old file is left untouched.
//!
//! Caveats: the new file gets default permissions (not those of the file it
//! replaces), and a destination that is a symbolic link is replaced by a
//! regular file rather than written through.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{DataError, Result};

/// Atomically replaces (or creates) `path` with what `write` writes.
///
/// I/O errors, including those returned by `write`, are reported as
/// [`DataError::Io`] with the path involved.
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("hello.txt");
/// effpath_data::write_atomic(&path, |w| w.write_all(b"hello"))?;
/// assert_eq!(std::fs::read(&path)?, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic<F>(path: impl AsRef<Path>, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let path = path.as_ref();
    write_atomic_with(path, |w: &mut BufWriter<File>| {
        write(w).map_err(|source| DataError::io(path, source))
    })
}

/// Like [`write_atomic`], but the closure may return any error type that a
/// [`DataError`] converts into, and a value that is passed back on success.
///
/// If `write` returns `Err`, that error is returned unchanged, the temporary
/// file is deleted and `path` is not touched.
pub fn write_atomic_with<T, E, F>(path: impl AsRef<Path>, write: F) -> Result<T, E>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<T, E>,
    E: From<DataError>,
{
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(file_name) = path.file_name() else {
        return Err(DataError::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
        )
        .into());
    };
    let (tmp_path, file) = create_temp(dir, &file_name.to_string_lossy())?;
    let guard = RemoveOnDrop(Some(tmp_path));
    let tmp_err = |source| DataError::io(guard.path(), source);

    let mut writer = BufWriter::new(file);
    let value = write(&mut writer)?;
    let file = writer.into_inner().map_err(|e| tmp_err(e.into_error()))?;
    file.sync_all().map_err(tmp_err)?;
    drop(file);
    fs::rename(guard.path(), path).map_err(|source| DataError::io(path, source))?;
    guard.disarm();
    sync_dir(dir);
    Ok(value)
}

/// Creates a new, uniquely named temporary file `.NAME.PID.N.tmp` in `dir`.
fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let mut attempt = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(source) => return Err(DataError::io(tmp, source)),
        }
    }
}

/// Makes the rename durable where the platform allows it (best effort).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Deletes the temporary file unless disarmed (covers errors and panics).
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn success_replaces_file_and_leaves_no_temp() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| DataError::io("tempdir", e))?;
        let path = dir.path().join("out.bin");
        write_atomic(&path, |w| w.write_all(b"first"))?;
        write_atomic(&path, |w| w.write_all(b"second"))?;
        assert_eq!(fs::read(&path).ok(), Some(b"second".to_vec()));
        assert_eq!(entries(dir.path()), vec!["out.bin".to_owned()]);
        Ok(())
    }

    #[test]
    fn closure_error_keeps_old_file_and_removes_temp() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| DataError::io("tempdir", e))?;
        let path = dir.path().join("keep.txt");
        fs::write(&path, b"old").map_err(|e| DataError::io(&path, e))?;
        let res = write_atomic(&path, |w| {
            w.write_all(b"partial new content")?;
            Err(io::Error::other("boom"))
        });
        match res {
            Err(DataError::Io { path: p, source }) => {
                assert_eq!(p, path);
                assert_eq!(source.to_string(), "boom");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&path).ok(), Some(b"old".to_vec()));
        assert_eq!(entries(dir.path()), vec!["keep.txt".to_owned()]);
        Ok(())
    }

    #[derive(Debug)]
    enum MyError {
        Data,
        Custom(u32),
    }

    impl From<DataError> for MyError {
        fn from(_: DataError) -> Self {
            MyError::Data
        }
    }

    #[test]
    fn custom_error_and_value_pass_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x");
        let r: Result<u32, MyError> = write_atomic_with(&path, |_| Err(MyError::Custom(7)));
        assert!(matches!(r, Err(MyError::Custom(7))));
        assert!(entries(dir.path()).is_empty());
        let r: Result<u32, MyError> = write_atomic_with(&path, |w| {
            w.write_all(b"ok").map_err(|_| MyError::Custom(0))?;
            Ok(42)
        });
        assert_eq!(r.ok(), Some(42));
        assert_eq!(entries(dir.path()), vec!["x".to_owned()]);
    }

    #[test]
    fn panic_in_closure_removes_temp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p");
        let caught = std::panic::catch_unwind(|| {
            let _ = write_atomic(&path, |_| panic!("inside closure"));
        });
        assert!(caught.is_err());
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("no/such/dir/file");
        assert!(matches!(
            write_atomic(&path, |w| w.write_all(b"x")),
            Err(DataError::Io { .. })
        ));
        assert!(matches!(
            write_atomic("/", |w| w.write_all(b"x")),
            Err(DataError::Io { .. })
        ));
    }
}
