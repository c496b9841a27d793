//! cargo-fuzz target `path_file`; the body is `targets::path_file` in `fuzz/targets.rs`, which the stable
//! test `crates/effpath/tests/fuzz_replay.rs` replays over `fuzz/corpus/path_file/`.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::path_file(data));
