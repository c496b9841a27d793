//! `effpath`: the command-line tool of effpath — inspect, train and evaluate networks,
//! classify inputs, extract effective paths, build, merge and compare class paths, attack
//! networks, compute path features, fit and run adversarial-input detectors, and run the
//! paper's end-to-end demo and study.
//!
//! `main` only parses, dispatches and reports: usage errors exit with code 2 (clap's
//! default), any other error prints one line `error: …` (the cause chain joined by `": "`)
//! to stderr and exits with code 1.

mod classpaths;
mod commands;
mod data;
mod features_csv;
mod model;
mod output;
mod pixels;
mod plot;
mod report;
mod targets;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc keeps freed large blocks for reuse; glibc's allocator returns every block above
/// its (adaptive) mmap threshold to the kernel, so each forward pass's tensors came back as
/// fresh, page-faulted, zeroed pages (docs/decisions.md, "Allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Effective-path analysis of deep neural networks (Qiu et al., CVPR 2019).
///
/// MODEL is a path to an .onnx file, a shipped trained model — `lenet5-mnist` (LeNet-5 on
/// MNIST) or `resnet-small-fashion` (a small ResNet on Fashion-MNIST) — or `lenet5` (the
/// built-in untrained LeNet-5 for 1×28×28 inputs; use ./lenet5 for a file of that name).
#[derive(Debug, Parser)]
#[command(name = "effpath", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // Output cut short by a closed pipe (`effpath inspect … | head`) is not a failure.
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", output::error_line(&err));
            ExitCode::FAILURE
        }
    }
}
