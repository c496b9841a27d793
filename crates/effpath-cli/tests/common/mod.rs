//! Helpers shared by the CLI's integration tests: run the `effpath` binary, expect success or
//! a one-line failure.

#![allow(dead_code)] // each test crate uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// A temporary path as the `&str` a command line takes.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Runs `effpath` with `args`.
pub fn effpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_effpath"))
        .args(args)
        .output()
        .expect("the effpath binary runs")
}

/// Runs a command that must succeed without a panic; returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = effpath(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{args:?}: {:?} failed: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs a command that must fail with exit code 1 and one `error:` line, without a panic;
/// returns its output.
pub fn failure(args: &[&str]) -> Output {
    let out = effpath(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    out
}

/// Runs a command that must fail as [`failure`] says; returns its `error:` line.
pub fn fails(args: &[&str]) -> String {
    String::from_utf8_lossy(&failure(args).stderr).into_owned()
}
