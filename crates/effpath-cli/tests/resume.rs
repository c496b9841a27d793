//! `effpath profile` survives `kill -9`: a run killed after some checkpoint chunks were saved is
//! resumed by running the same command again, loads those chunks instead of recomputing them,
//! and ends with a class-path file byte-identical to an uninterrupted run; a checkpoint of a
//! different run is refused, and a damaged chunk is recomputed.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// 7,996 images in chunks of 200: 40 chunks.
const CHUNKS: usize = 40;

fn args() -> Vec<&'static str> {
    vec![
        "profile",
        "lenet5-mnist",
        "--dataset",
        "mnist-train",
        "--chunk-size",
        "200",
        "--batch-size",
        "50",
        "--quiet",
    ]
}

fn effpath() -> Command {
    Command::new(env!("CARGO_BIN_EXE_effpath"))
}

fn run(extra: &[&str], out: &Path) -> Output {
    effpath()
        .args(args())
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn parts(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".parts");
    PathBuf::from(p)
}

fn chunk_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("chunk-") && name.ends_with(".bin")
        })
        .collect();
    v.sort();
    v
}

/// Starts `effpath profile --out OUT` and kills it (SIGKILL) as soon as its first checkpoint
/// chunk is on disk; retries if the run finished first. Returns the chunk files left behind.
fn interrupted(out: &Path) -> Vec<PathBuf> {
    let dir = parts(out);
    for _attempt in 0..5 {
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(out);
        let mut child = effpath()
            .args(args())
            .arg("--out")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while chunk_files(&dir).is_empty()
            && child.try_wait().unwrap().is_none()
            && start.elapsed() < Duration::from_secs(120)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap_or(()); // Err only if it already exited
        child.wait().unwrap();
        if !out.exists() {
            let chunks = chunk_files(&dir);
            assert!(!chunks.is_empty(), "no chunk was written before the kill");
            assert!(chunks.len() < CHUNKS, "the run was not interrupted");
            assert!(dir.join("manifest.json").is_file());
            return chunks;
        }
    }
    panic!("could not interrupt `effpath profile` in 5 attempts");
}

fn loaded_chunks(stdout: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().find(|l| l.starts_with("resumed: "))?;
    line["resumed: ".len()..].split(' ').next()?.parse().ok()
}

#[test]
fn killed_profile_resumes_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole.bin");
    let o = run(&["--no-checkpoint"], &whole);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!parts(&whole).exists());
    let expected = std::fs::read(&whole).unwrap();

    // An uninterrupted checkpointed run gives the same bytes and cleans up.
    let plain = tmp.path().join("plain.bin");
    let o = run(&[], &plain);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&plain).unwrap(), expected);
    assert!(
        !parts(&plain).exists(),
        "the checkpoint directory is removed"
    );
    assert_eq!(loaded_chunks(&o.stdout), None);

    // Killed, then resumed with the same command.
    let out = tmp.path().join("resumed.bin");
    let saved = interrupted(&out);

    // A different run must not reuse the checkpoint.
    let o = run(&["--theta", "0.3"], &out);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("another profiling run") && err.contains("theta"),
        "{err}"
    );
    assert_eq!(
        chunk_files(&parts(&out)),
        saved,
        "a refused resume leaves the checkpoint alone"
    );

    let o = run(&[], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        loaded_chunks(&o.stdout),
        Some(saved.len()),
        "every saved chunk is loaded, not recomputed: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("of {CHUNKS} chunks")),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        expected,
        "resumed ≠ uninterrupted"
    );
    assert!(!parts(&out).exists(), "the checkpoint directory is removed");
}

#[test]
fn a_damaged_chunk_is_recomputed() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole.bin");
    assert!(run(&["--no-checkpoint"], &whole).status.success());
    let out = tmp.path().join("damaged.bin");
    let saved = interrupted(&out);
    let mut bytes = std::fs::read(&saved[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&saved[0], bytes).unwrap();
    let o = run(&[], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("does not check out"), "{err}");
    assert_eq!(loaded_chunks(&o.stdout).unwrap_or(0), saved.len() - 1);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&whole).unwrap());
}
