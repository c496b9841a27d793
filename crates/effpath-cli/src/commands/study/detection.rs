//! Weight-based detection (App. C.2): the detectors trained on |W ∩ W_class| / |W| per layer
//! instead of the synapse similarity, and on CDRP's gate vectors (Wang et al. 2018, the
//! paper's baseline), on the same normal and adversarial images; and the t-SNE of the synapse
//! features coloured by attack (Fig. 15).

use anyhow::Result;
use effpath::attack::{AttackKind, Classifier};
use effpath::data::{LabeledImages, Normalization};
use effpath::detect::tsne::{TsneOptions, tsne};
use effpath::detect::{ExperimentData, ExperimentOptions, run_experiment};
use effpath::extract::cdrp::{Cdrp, CdrpOptions};
use effpath::extract::{EmptyLayer, FeatureOptions};
use effpath::ndarray::{Array2, Array4, Axis, stack};
use effpath::{ClassPaths, DetectorKind, Network, PathFeatures};
use serde::Serialize;

use super::cdrp::{CdrpSection, SectionInputs, gate_set, section};
use crate::commands::demo::{Preset, features, is_cw, normal_indices, run_attack};

/// The attacks of the comparison: the demo's, without the two C&W attacks (minutes each).
pub const ATTACKS: [AttackKind; 6] = [
    AttackKind::Fgsm,
    AttackKind::Bim,
    AttackKind::Deepfool,
    AttackKind::Jsma,
    AttackKind::RandomNoise,
    AttackKind::Patch,
];

/// The mean AUC of one detector on one attack with synapse, weight and CDRP features.
#[derive(Debug, Clone, Serialize)]
pub struct KindAuc {
    /// The attack.
    pub attack: String,
    /// The detector.
    pub detector: &'static str,
    /// Mean AUC over the repetitions with synapse features (the paper's default).
    pub synapse: f64,
    /// The same with weight features.
    pub weight: f64,
    /// The same with CDRP's gate vector (`None` for the linear detector, which needs
    /// rank-1/rank-2 similarity pairs).
    pub cdrp: Option<f64>,
}

/// The comparison and what it ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// Correctly classified test images attacked.
    pub normal_images: usize,
    /// Adversarial examples per attack (successful ones).
    pub adversarial: Vec<(String, usize)>,
    /// Repetitions of each 10 % / 90 % split experiment.
    pub repetitions: usize,
    /// One row per attack and detector.
    pub rows: Vec<KindAuc>,
    /// The t-SNE embedding of the synapse features (rank-1 and rank-2 similarity per
    /// weighted layer) of at most `TSNE_PER_SET` rows of each set: `(set, points)`.
    pub tsne: Vec<PointSet>,
    /// The CDRP baseline's curves and timing.
    pub cdrp: CdrpSection,
}

/// A named set of points in the plane.
pub type PointSet = (String, Vec<(f64, f64)>);

/// Rows of each set (normal, each attack) in the t-SNE embedding.
pub const TSNE_PER_SET: usize = 120;

/// The t-SNE embedding of the first [`TSNE_PER_SET`] rows of each set of `data`.
fn embed(data: &ExperimentData, seed: u64) -> Result<Vec<PointSet>> {
    let sets: Vec<(String, &Array2<f64>)> = std::iter::once(("normal".to_owned(), &data.normal))
        .chain(data.attacks.iter().map(|(n, m)| (n.clone(), m)))
        .collect();
    let mut rows = Vec::new();
    let mut owner = Vec::new();
    for (k, (_, m)) in sets.iter().enumerate() {
        for r in m.rows().into_iter().take(TSNE_PER_SET) {
            rows.extend(r.iter().copied());
            owner.push(k);
        }
    }
    let width = data.normal.ncols();
    let x = Array2::from_shape_vec((owner.len(), width), rows)?;
    let options = TsneOptions {
        perplexity: 30.0_f64.min((owner.len().saturating_sub(1)) as f64 / 3.0),
        iterations: 750,
        seed,
    };
    let y = tsne(x.view(), &options)?;
    Ok(sets
        .iter()
        .enumerate()
        .map(|(k, (name, _))| {
            let points = owner
                .iter()
                .enumerate()
                .filter(|(_, o)| **o == k)
                .map(|(i, _)| (y[[i, 0]], y[[i, 1]]))
                .collect();
            (name.clone(), points)
        })
        .collect())
}

/// The data of one attack run: normal pixels `x` with labels, and the training pixels some
/// attacks (the patch) learn from.
pub struct Inputs<'a> {
    /// The network.
    pub net: &'a Network,
    /// Its input normalisation.
    pub norm: Normalization,
    /// Its class paths.
    pub class_paths: &'a ClassPaths,
    /// The test split.
    pub test: &'a LabeledImages,
    /// The training split.
    pub train: &'a LabeledImages,
}

/// Attacks correctly classified test images, computes synapse and weight features of the
/// normal and adversarial images and runs every detector on both.
pub fn compare(i: &Inputs<'_>, sizes: &Preset, seed: u64) -> Result<Detection> {
    let clf = Classifier::new(i.net, i.norm)?;
    let pixels = i.test.to_tensor(.., Normalization::None)?;
    let labels: Vec<usize> = i.test.labels().to_vec();
    let keep = normal_indices(&clf, &pixels, &labels, sizes.per_class)?;
    let x = pixels.select(Axis(0), &keep);
    let y: Vec<usize> = keep.iter().map(|&k| labels[k]).collect();
    let train_pixels = i
        .train
        .to_tensor(0..i.train.len().min(2000), Normalization::None)?;
    let all: Vec<usize> = (0..y.len()).collect();
    let bar = indicatif::ProgressBar::hidden();
    let mut adversarial: Vec<(String, Array4<f32>)> = Vec::new();
    for kind in ATTACKS {
        debug_assert!(!is_cw(kind));
        let results = run_attack(
            kind,
            (sizes, seed),
            &clf,
            (&x, &y, &all),
            &train_pixels,
            &bar,
        )?;
        let ok: Vec<_> = results
            .iter()
            .filter(|r| r.success)
            .map(|r| r.adversarial.view())
            .collect();
        if !ok.is_empty() {
            adversarial.push((kind.name().to_string(), stack(Axis(0), &ok)?));
        }
    }
    let mut per_kind = Vec::new();
    let mut embedding = Vec::new();
    let mut synapse_data = None;
    for kind in [
        effpath::algebra::ElementKind::Synapse,
        effpath::algebra::ElementKind::Weight,
    ] {
        let options = FeatureOptions {
            extract: *i.class_paths.options(),
            kind,
            empty_layer: EmptyLayer::One,
            ..FeatureOptions::default()
        };
        let f = PathFeatures::new(i.net, i.class_paths, options)?;
        let mut data = ExperimentData {
            normal: features(&f, &x, i.norm)?.matrix,
            attacks: Vec::new(),
        };
        for (name, adv) in &adversarial {
            let m = features(&f, adv, i.norm)?.matrix;
            if m.nrows() >= 10 {
                data.attacks.push((name.clone(), m));
            }
        }
        per_kind.push(detect_all(&data, DetectorKind::ALL, sizes, seed)?);
        if kind == effpath::algebra::ElementKind::Synapse {
            embedding = embed(&data, seed)?;
            synapse_data = Some(data);
        }
    }
    let Some(paths) = synapse_data else {
        anyhow::bail!("no synapse features were computed");
    };
    // CDRP's gates on the same images and attacks as the path features.
    let cdrp = Cdrp::new(i.net, CdrpOptions::default())?;
    let normal = gate_set(&cdrp, &x, i.norm)?;
    let mut gates = ExperimentData {
        normal: normal.rows.clone(),
        attacks: Vec::new(),
    };
    for (name, _) in &paths.attacks {
        if let Some((_, adv)) = adversarial.iter().find(|(n, _)| n == name) {
            gates
                .attacks
                .push((name.clone(), gate_set(&cdrp, adv, i.norm)?.rows));
        }
    }
    let cdrp_kinds = DetectorKind::ALL
        .into_iter()
        .filter(|&k| k != DetectorKind::Linear);
    let cdrp_results = detect_all(&gates, cdrp_kinds, sizes, seed)?;
    let mut normal_x = x.clone();
    i.norm.apply(&mut normal_x);
    let cdrp_section = section(
        &SectionInputs {
            net: i.net,
            cdrp: &cdrp,
            extract: *i.class_paths.options(),
            paths: &paths,
            gates: &gates,
            normal: &normal,
            normal_x: &normal_x.into_dyn(),
        },
        sizes.repetitions,
        seed,
    )?;
    let mut rows = Vec::new();
    if let [synapse, weight] = per_kind.as_slice() {
        for (s, w) in synapse.iter().zip(weight) {
            let c = cdrp_results.iter().find(|c| c.detector == s.detector);
            let c_summary = c.map(effpath::detect::AucResult::summary);
            for (k, (a, (sm, wm))) in s
                .attacks
                .iter()
                .zip(s.summary().into_iter().zip(w.summary()))
                .enumerate()
            {
                rows.push(KindAuc {
                    attack: a.clone(),
                    detector: s.detector.name(),
                    synapse: sm.0,
                    weight: wm.0,
                    cdrp: c_summary.as_ref().and_then(|v| v.get(k)).map(|m| m.0),
                });
            }
        }
    }
    Ok(Detection {
        normal_images: y.len(),
        adversarial: adversarial
            .iter()
            .map(|(n, a)| (n.clone(), a.len_of(Axis(0))))
            .collect(),
        repetitions: sizes.repetitions,
        rows,
        tsne: embedding,
        cdrp: cdrp_section,
    })
}

/// Runs every detector of `kinds` on `data` with the run's repetitions and seed.
fn detect_all(
    data: &ExperimentData,
    kinds: impl IntoIterator<Item = DetectorKind>,
    sizes: &Preset,
    seed: u64,
) -> Result<Vec<effpath::detect::AucResult>> {
    kinds
        .into_iter()
        .map(|detector| {
            let opts = ExperimentOptions {
                detector,
                repetitions: sizes.repetitions,
                seed,
                ..ExperimentOptions::default()
            };
            Ok(run_experiment(data, &opts)?)
        })
        .collect()
}
