//! cargo-fuzz target `onnx`; the body is `targets::onnx` in `fuzz/targets.rs`, which the stable
//! test `crates/effpath/tests/fuzz_replay.rs` replays over `fuzz/corpus/onnx/`.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::onnx(data));
