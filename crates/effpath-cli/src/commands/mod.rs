//! One module per subcommand; [`run`] dispatches.

pub mod attack;
pub mod demo;
pub mod density;
pub mod detect;
pub mod eval;
pub mod extract;
pub mod features;
pub mod fit_detector;
pub mod inspect;
pub mod merge;
pub mod predict;
pub mod profile;
pub mod similarity;
pub mod study;
pub mod train;

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
    /// Extract the effective path of one input: kept neurons, synapses and weights per layer
    Extract(extract::ExtractArgs),
    /// Build class paths (per class, the union of the paths of its correctly classified
    /// images) and save them to a class-path file
    Profile(profile::ProfileArgs),
    /// Merge class-path files of one model (e.g. the parts of `profile --shard`)
    Merge(merge::MergeArgs),
    /// Class × class Jaccard similarity of class paths: table, CSV and heat map
    Similarity(similarity::SimilarityArgs),
    /// Per-layer densities of the overall path and of every class path
    Density(density::DensityArgs),
    /// The whole method on the shipped defaults: class paths, attacks, features, six
    /// detectors, AUC table and a report folder (index.html, plots, CSV/JSON)
    Demo(demo::DemoArgs),
    /// Path-similarity features (rank-1 and rank-2, per weighted layer) of images, as CSV
    Features(features::FeaturesArgs),
    /// Train an adversarial-input detector on feature tables and save it with its threshold
    FitDetector(fit_detector::FitDetectorArgs),
    /// Flag adversarial inputs with a trained detector
    Detect(detect::DetectArgs),
    /// Train a network (LeNet-5 or a small ResNet) on MNIST, Fashion-MNIST or IDX files and save it as ONNX
    Train(train::TrainArgs),
    /// Adversarial examples of correctly classified images (FGSM, BIM, DeepFool, JSMA,
    /// C&W L2, random noise, adversarial patch): summary table and an .npz archive
    Attack(attack::AttackArgs),
    /// The paper's analyses beyond detection: masking to the path vs magnitude pruning,
    /// density growth, class hierarchy, per-layer density (a report folder)
    Study(study::StudyArgs),
}

/// Runs a subcommand, writing its results to stdout.
pub fn run(command: Command) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match command {
        Command::Inspect(args) => inspect::run(&args, &mut out)?,
        Command::Predict(args) => predict::run(&args, &mut out)?,
        Command::Eval(args) => eval::run(&args, &mut out)?,
        Command::Extract(args) => extract::run(&args, &mut out)?,
        Command::Profile(args) => profile::run(&args, &mut out)?,
        Command::Merge(args) => merge::run(&args, &mut out)?,
        Command::Similarity(args) => similarity::run(&args, &mut out)?,
        Command::Density(args) => density::run(&args, &mut out)?,
        Command::Train(args) => train::run(&args, &mut out)?,
        Command::Demo(args) => demo::run(&args, &mut out)?,
        Command::Features(args) => features::run(&args, &mut out)?,
        Command::FitDetector(args) => fit_detector::run(&args, &mut out)?,
        Command::Detect(args) => detect::run(&args, &mut out)?,
        Command::Attack(args) => attack::run(&args, &mut out)?,
        Command::Study(args) => study::run(&args, &mut out)?,
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}
