//! `effpath merge`: unite class-path files of one model (e.g. `profile --shard` parts).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::classpaths::{self, describe_options, write_summary};

/// Arguments of `effpath merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Class-path files of the same model, built with the same options
    #[arg(value_name = "SHARD", required = true, num_args = 1..)]
    shards: Vec<PathBuf>,

    /// The merged class-path file to write (may be one of the inputs)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs `effpath merge`.
pub fn run(args: &MergeArgs, out: &mut impl Write) -> Result<()> {
    let Some((first, rest)) = args.shards.split_first() else {
        bail!("no class-path files to merge");
    };
    let mut merged = classpaths::load(first)?;
    for path in rest {
        let part = classpaths::load(path)?;
        if part.fingerprint() != merged.fingerprint() {
            bail!(
                "{} belongs to another model (fingerprint {}) than {} ({})",
                path.display(),
                part.fingerprint(),
                first.display(),
                merged.fingerprint()
            );
        }
        merged
            .merge(&part)
            .with_context(|| format!("cannot merge {} into {}", path.display(), first.display()))?;
    }
    merged
        .save(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    writeln!(
        out,
        "merged {} files of model {}",
        args.shards.len(),
        merged.fingerprint()
    )?;
    writeln!(out, "options: {}", describe_options(&merged))?;
    write_summary(&merged, out)?;
    writeln!(out, "wrote {}", args.out.display())?;
    Ok(())
}
