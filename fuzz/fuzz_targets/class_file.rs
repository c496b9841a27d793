//! cargo-fuzz target `class_file`; the body is `targets::class_file` in `fuzz/targets.rs`, which the stable
//! test `crates/effpath/tests/fuzz_replay.rs` replays over `fuzz/corpus/class_file/`.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::class_file(data));
