//! cargo-fuzz target `extract`; the body is `targets::extract` in `fuzz/targets.rs`, which the stable
//! test `crates/effpath/tests/fuzz_replay.rs` replays over `fuzz/corpus/extract/`.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::extract(data));
