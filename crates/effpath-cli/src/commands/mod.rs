//! One module per subcommand; [`run`] dispatches.

pub mod eval;
pub mod inspect;
pub mod predict;

use anyhow::Result;
use clap::Subcommand;

/// The subcommands of `effpath`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List a model's layers, parameter and MAC counts, input shape and fingerprint
    Inspect(inspect::InspectArgs),
    /// Classify one input and print the top-5 classes with their logits
    Predict(predict::PredictArgs),
    /// Measure accuracy on a labelled image set (per class, with a confusion matrix)
    Eval(eval::EvalArgs),
}

/// Runs a subcommand, writing its results to stdout.
pub fn run(command: Command) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match command {
        Command::Inspect(args) => inspect::run(&args, &mut out)?,
        Command::Predict(args) => predict::run(&args, &mut out)?,
        Command::Eval(args) => eval::run(&args, &mut out)?,
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}
