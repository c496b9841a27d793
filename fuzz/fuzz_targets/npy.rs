//! cargo-fuzz target `npy`; the body is `targets::npy` in `fuzz/targets.rs`, which the stable
//! test `crates/effpath/tests/fuzz_replay.rs` replays over `fuzz/corpus/npy/`.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::npy(data));
