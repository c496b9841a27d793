//! The demo's report folder: numbers as CSV/JSON, figures as PNG and SVG, and a
//! self-contained `index.html` (SVGs inlined, so it opens offline).

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use effpath::DetectorKind;
use effpath::attack::{AttackKind, Summary};
use effpath::baselines::BaselineKind;
use effpath::data::Embedded;
use effpath::detect::{AucResult, OperatingSummary};
use serde_json::json;

use crate::output;
use crate::plot::{self, GroupedBars, Heatmap, Lines};

/// One attack's outcome.
#[derive(Debug)]
pub struct AttackRow {
    /// Attack name.
    pub name: String,
    /// Success and distortion statistics.
    pub summary: Summary,
    /// Wall time.
    pub seconds: f64,
}

/// How long one stage of the demo took (wall time).
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Stage name: `profile`, an attack's name, `features`, `detector-<kind>`,
    /// `detector-files`, `sweep-<what>` or `report`.
    pub name: String,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// The stages finished so far, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stages {
    /// The finished stages.
    pub list: Vec<Stage>,
}

impl Stages {
    /// Records the stage `name` as started at `started` and finished now; returns it.
    pub fn record(&mut self, name: impl Into<String>, started: Instant) -> &Stage {
        self.list.push(Stage {
            name: name.into(),
            seconds: started.elapsed().as_secs_f64(),
        });
        &self.list[self.list.len() - 1]
    }
}

/// One sweep: mean AUC per attack as one setting varies.
#[derive(Debug)]
pub struct Sweep {
    /// File stem of its figure.
    pub stem: String,
    /// Figure title.
    pub title: String,
    /// What varies.
    pub x_desc: String,
    /// The settings.
    pub xs: Vec<f64>,
    /// `(attack, mean AUC per setting)`.
    pub series: Vec<(String, Vec<f64>)>,
}

/// The guard's measured cost with the last `layers` weighted layers (demo `overhead`).
#[derive(Debug, Clone, PartialEq)]
pub struct GuardCost {
    /// Number of last weighted layers extracted and compared.
    pub layers: usize,
    /// Mean wall time of `Guard::check` on one image, in ms.
    pub guard_ms: f64,
    /// Mean wall time of the forward pass (`predict`) of the same images, in ms.
    pub forward_ms: f64,
    /// Images timed.
    pub images: usize,
}

impl GuardCost {
    /// Guard ÷ forward.
    pub fn ratio(&self) -> f64 {
        self.guard_ms / self.forward_ms
    }
}

/// Name of the class-path file in the report folder.
pub const CLASSPATHS_FILE: &str = "classpaths.bin";

/// Name of the detector file of `kind` in the report folder: `detector-<kind>.json`.
pub fn detector_file_name(kind: DetectorKind) -> String {
    format!("detector-{}.json", kind.name())
}

/// The class paths and detectors saved in the report folder, for `effpath detect`.
#[derive(Debug)]
pub struct ReportFiles {
    /// The model as given to the demo (what `effpath detect` needs as MODEL).
    pub model: String,
    /// The report folder as given.
    pub dir: String,
    /// File name of the class paths.
    pub classpaths: String,
    /// `(kind, file name)` of each detector.
    pub detectors: Vec<(DetectorKind, String)>,
    /// Normal rows the detectors were trained on.
    pub normal_rows: usize,
    /// Adversarial rows the detectors were trained on.
    pub adversarial_rows: usize,
    /// FPR on the normal training rows that set their thresholds.
    pub fpr: f64,
}

impl ReportFiles {
    /// The `effpath detect` command line using the detector file `detector` on `input`
    /// (e.g. `["--dataset", "mnist-test"]`).
    pub fn detect_command(&self, detector: &str, input: &[&str]) -> String {
        let dir = Path::new(&self.dir);
        let mut words = vec![
            "effpath".to_string(),
            "detect".to_string(),
            shell_word(&self.model),
            "--classpaths".to_string(),
            shell_word(&dir.join(&self.classpaths).display().to_string()),
            "--detector".to_string(),
            shell_word(&dir.join(detector).display().to_string()),
        ];
        words.extend(input.iter().map(|w| shell_word(w)));
        words.join(" ")
    }
}

/// `word` quoted for a POSIX shell when it holds anything but `[A-Za-z0-9_./:=,+-]`.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=,+-".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `text` with `&`, `<`, `>` and `"` escaped for HTML.
pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Everything the report shows.
#[derive(Debug)]
pub struct Report {
    /// The embedded dataset.
    pub data: Embedded,
    /// Model name as given.
    pub model: String,
    /// Model fingerprint.
    pub fingerprint: String,
    /// θ.
    pub theta: f64,
    /// Normal (correctly classified) test images attacked.
    pub normal_images: usize,
    /// Feature names.
    pub feature_names: Vec<String>,
    /// Attack outcomes.
    pub attacks: Vec<AttackRow>,
    /// Rows dropped per set for an undefined similarity.
    pub dropped: Vec<(String, usize)>,
    /// AUC results, one per detector.
    pub auc: Vec<AucResult>,
    /// AUC results of the baselines on the same rows (each scored by its detector, logistic
    /// regression), in [`BaselineKind::ALL`] order.
    pub baselines: Vec<(BaselineKind, AucResult)>,
    /// Feature rows of the normal images.
    pub normal_rows: Vec<Vec<f64>>,
    /// Feature rows of each attack's adversarial examples.
    pub attack_rows: Vec<(String, Vec<Vec<f64>>)>,
    /// The class-path and detector files written beside the report.
    pub files: ReportFiles,
    /// Class × class Jaccard of the class paths.
    pub class_jaccard: Vec<Vec<Option<f64>>>,
    /// Total wall time (set by [`write`](Self::write)).
    pub seconds: f64,
    /// Wall time of each stage; [`write`](Self::write) appends `report`.
    pub stages: Vec<Stage>,
    /// The sweeps (layers, training size, generalisation, θ, guard overhead).
    pub sweeps: Vec<Sweep>,
    /// The guard's cost per number of last layers.
    pub guard_costs: Vec<GuardCost>,
    /// The adaptive attack's evasion of the linear detector, per number of matched layers.
    pub evasion: Vec<EvasionCurve>,
    /// The detector threshold's FPR on normal training rows the evasion is measured at.
    pub evasion_fpr: f64,
    /// Median L2 of the successful plain C&W (cw-l2) examples, for comparison.
    pub cw_median_l2: Option<f64>,
    /// The hardening experiment, when it ran.
    pub hardening: Option<Hardening>,
}

/// The adaptive attack at one budget.
#[derive(Debug, Clone, PartialEq)]
pub struct EvasionPoint {
    /// L2 budget (pixel units).
    pub epsilon: f64,
    /// Images attacked (correctly classified).
    pub attacked: usize,
    /// Images turned into their target class.
    pub fooled: usize,
    /// Of those, the ones the detector does not flag at its threshold.
    pub evaded: usize,
    /// The detector's AUC on the fooled images against the normal test images.
    pub auc: Option<f64>,
}

impl EvasionPoint {
    /// The fraction of attacked images that fool both the classifier and the detector.
    pub fn rate(&self) -> f64 {
        self.evaded as f64 / self.attacked.max(1) as f64
    }
}

/// The attacks that know the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adaptive {
    /// Activation matching of the last layers.
    ActivationMatching,
    /// The white-box attack on classifier and detector.
    WhiteBox,
    /// The white-box attack on the hardened guard (an ensemble over several θ).
    WhiteBoxEnsemble,
}

impl Adaptive {
    /// The attack's name, as `effpath attack` knows it.
    pub fn name(self) -> &'static str {
        match self {
            Adaptive::ActivationMatching => AttackKind::ActivationMatching.name(),
            Adaptive::WhiteBox => AttackKind::WhiteBox.name(),
            Adaptive::WhiteBoxEnsemble => "white-box-vs-ensemble",
        }
    }
}

/// An attack that knows the detector, over the budgets: activation matching of the last
/// `layers` weighted layers, or the white-box attack on the whole defence.
#[derive(Debug, Clone, PartialEq)]
pub struct EvasionCurve {
    /// The attack.
    pub attack: Adaptive,
    /// Weighted layers matched, counted from the last (activation matching), or compared by
    /// the detector (white-box).
    pub layers: usize,
    /// One point per budget, increasing.
    pub points: Vec<EvasionPoint>,
}

impl EvasionCurve {
    /// How the curve is named in the report.
    pub fn label(&self) -> String {
        match self.attack {
            Adaptive::WhiteBox => "white-box (classifier + detector)".to_string(),
            Adaptive::WhiteBoxEnsemble => "white-box vs the hardened θ ensemble".to_string(),
            Adaptive::ActivationMatching => {
                format!("activation matching, last {} layer(s)", self.layers)
            }
        }
    }

    /// The budget at which evasion first reaches 50 % (linear between grid points), if it does.
    pub fn half_budget(&self) -> Option<f64> {
        let mut prev: Option<&EvasionPoint> = None;
        for p in &self.points {
            if p.rate() >= 0.5 {
                return Some(match prev {
                    Some(q) if p.rate() > q.rate() => {
                        q.epsilon
                            + (0.5 - q.rate()) / (p.rate() - q.rate()) * (p.epsilon - q.epsilon)
                    }
                    _ => p.epsilon,
                });
            }
            prev = Some(p);
        }
        None
    }
}

/// The hardening experiment: the guard at several θ at once (flag if any member flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Hardening {
    /// The members' θ.
    pub thetas: Vec<f64>,
    /// Clean AUC per attack.
    pub rows: Vec<HardeningRow>,
    /// The members' common false-positive rate on the normal images.
    pub member_fpr: f64,
    /// Share of the normal images the single guard flags.
    pub single_fpr: f64,
    /// Share of the normal images the ensemble flags.
    pub ensemble_fpr: f64,
    /// Single guard's time per normal image (ms, batch of all normal images).
    pub single_ms: f64,
    /// Ensemble's time per normal image (ms).
    pub ensemble_ms: f64,
}

/// One attack's clean AUC under the single guard and under the ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct HardeningRow {
    /// The attack.
    pub attack: String,
    /// The single guard's AUC.
    pub single_auc: Option<f64>,
    /// The ensemble's AUC.
    pub ensemble_auc: Option<f64>,
}

impl Hardening {
    /// The experiment as text lines.
    fn lines(&self) -> Vec<String> {
        let auc = |a: Option<f64>| a.map_or("—".to_string(), |a| format!("{a:.4}"));
        let mut lines = vec![
            format!(
                "hardening: linear guards at θ = {:?} at once (flag if any flags; each at {:.2} % FPR on the normal images, so that the ensemble flags as many of them as the single guard)",
                self.thetas,
                100.0 * self.member_fpr
            ),
            format!(
                "    flagged normal images: single {:.1} %, ensemble {:.1} %; time per image: single {:.2} ms, ensemble {:.2} ms ({:.2}x)",
                100.0 * self.single_fpr,
                100.0 * self.ensemble_fpr,
                self.single_ms,
                self.ensemble_ms,
                self.ensemble_ms / self.single_ms.max(1e-12)
            ),
        ];
        for r in &self.rows {
            lines.push(format!(
                "    {:<16} clean AUC single {}  ensemble {}",
                r.attack,
                auc(r.single_auc),
                auc(r.ensemble_auc)
            ));
        }
        lines
    }
}

/// One attack's best path detector against its best baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Versus {
    /// The attack.
    pub attack: String,
    /// The best path detector and its mean AUC.
    pub path: (String, f64),
    /// The best baseline and its mean AUC (`None` without baselines).
    pub baseline: Option<(String, f64)>,
}

impl Versus {
    /// Whether the best path detector's mean AUC is at least the best baseline's.
    pub fn paths_win(&self) -> bool {
        self.baseline
            .as_ref()
            .is_none_or(|(_, b)| self.path.1 >= *b)
    }
}

/// `TPR mean ± std [realised FPR mean]`.
fn operating_cell(s: &OperatingSummary) -> String {
    format!("{:.3} ± {:.3} [{:.3}]", s.tpr.0, s.tpr.1, s.fpr.0)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

impl Report {
    /// Every detector's results under its report name: the path detectors, then the
    /// baselines.
    fn detector_rows(&self) -> Vec<(String, &AucResult)> {
        self.auc
            .iter()
            .map(|r| (r.detector.name().to_string(), r))
            .chain(
                self.baselines
                    .iter()
                    .map(|(k, r)| (k.name().to_string(), r)),
            )
            .collect()
    }

    /// Per attack: the best path detector's and the best baseline's mean AUC, with their
    /// names.
    pub fn versus_baselines(&self) -> Vec<Versus> {
        let best = |rows: &mut dyn Iterator<Item = (String, &AucResult)>, k: usize| {
            rows.map(|(n, r)| (n, r.summary()[k].0)).fold(
                None,
                |b: Option<(String, f64)>, (n, m)| match b {
                    Some((_, bm)) if bm >= m => b,
                    _ => Some((n, m)),
                },
            )
        };
        self.auc[0]
            .attacks
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let path = best(
                    &mut self.auc.iter().map(|r| (r.detector.name().to_string(), r)),
                    k,
                )
                .unwrap_or_default();
                let base = best(
                    &mut self
                        .baselines
                        .iter()
                        .map(|(b, r)| (b.name().to_string(), r)),
                    k,
                );
                Versus {
                    attack: a.clone(),
                    path,
                    baseline: base,
                }
            })
            .collect()
    }

    /// The path detectors against the baselines, one line per attack, as HTML.
    fn versus_html(&self) -> String {
        if self.baselines.is_empty() {
            return String::new();
        }
        let mut h = String::from(
            "<h2>Effective paths against the baselines</h2><p>Mahalanobis (Lee et al. 2018), LID (Ma et al. 2018) and feature squeezing (Xu et al. 2018) on the same normal and adversarial rows and splits as the path detectors, each baseline's feature row scored by logistic regression. Per attack, the best path detector against the best baseline (mean AUC).</p><table><tr><th>attack</th><th>best path detector</th><th>best baseline</th><th>verdict</th></tr>",
        );
        for v in self.versus_baselines() {
            let verdict = if v.paths_win() {
                "paths ≥ baselines"
            } else {
                "<b>a baseline is better</b>"
            };
            let (a, (pn, pm), (bn, bm)) = (v.attack, v.path, v.baseline.unwrap_or_default());
            let _ = write!(
                h,
                "<tr><td>{a}</td><td>{pn} {pm:.4}</td><td>{bn} {bm:.4}</td><td>{verdict}</td></tr>"
            );
        }
        h.push_str("</table>");
        h
    }

    /// The adaptive attack's results as text lines.
    fn evasion_lines(&self) -> Vec<String> {
        let mut lines = self
            .hardening
            .as_ref()
            .map(Hardening::lines)
            .unwrap_or_default();
        for c in &self.evasion {
            lines.push(format!(
                "{}: evasion reaches 50 % at L2 {} (plain C&W median L2 {})",
                c.label(),
                c.half_budget()
                    .map_or("— (not within the budgets)".to_string(), |b| format!(
                        "{b:.2}"
                    )),
                self.cw_median_l2
                    .map_or("—".to_string(), |m| format!("{m:.2}"))
            ));
            for p in &c.points {
                lines.push(format!(
                    "    ε = {:<5.2} fooled {:>3}/{:<3} evaded {:>3} ({:.1} %), detector AUC on fooled {}",
                    p.epsilon,
                    p.fooled,
                    p.attacked,
                    p.evaded,
                    100.0 * p.rate(),
                    p.auc.map_or("—".to_string(), |a| format!("{a:.4}"))
                ));
            }
        }
        lines
    }

    /// Prints the AUC table: attacks × detectors, mean ± std.
    pub fn print_table(&self, out: &mut impl Write) -> Result<()> {
        let attacks = &self.auc[0].attacks;
        write!(out, "\nAUC (mean ± std over repetitions)\n{:<16}", "attack")?;
        for (name, _) in self.detector_rows() {
            write!(out, "{name:>22}")?;
        }
        writeln!(out)?;
        for (k, a) in attacks.iter().enumerate() {
            write!(out, "{a:<16}")?;
            for (_, r) in self.detector_rows() {
                let (m, s) = r.summary()[k];
                write!(out, "{:>22}", format!("{m:.4} ± {s:.4}"))?;
            }
            writeln!(out)?;
        }
        if !self.baselines.is_empty() {
            writeln!(out, "\nbest path detector vs best baseline (mean AUC)")?;
            for v in self.versus_baselines() {
                let verdict = if v.paths_win() {
                    "paths ≥ baselines"
                } else {
                    "a baseline is better"
                };
                let (a, (pn, pm), (bn, bm)) = (v.attack, v.path, v.baseline.unwrap_or_default());
                writeln!(
                    out,
                    "{a:<16} {pn:>14} {pm:.4}   {bn:>18} {bm:.4}   {verdict}"
                )?;
            }
        }
        for (t, target) in self.auc[0].target_fprs.iter().enumerate() {
            write!(
                out,
                "\nTPR at {} FPR (threshold fixed on the normal training rows; mean ± std, [realised FPR on normal test rows])\n{:<16}",
                output::percent(*target),
                "attack"
            )?;
            for (name, _) in self.detector_rows() {
                write!(out, "{name:>26}")?;
            }
            writeln!(out)?;
            for (k, a) in attacks.iter().enumerate() {
                write!(out, "{a:<16}")?;
                for (_, r) in self.detector_rows() {
                    write!(out, "{:>26}", operating_cell(&r.operating_summary()[k][t]))?;
                }
                writeln!(out)?;
            }
        }
        if !self.evasion.is_empty() {
            writeln!(
                out,
                "\nattacks that know the detector (linear detector at {} FPR)",
                output::percent(self.evasion_fpr)
            )?;
            for l in self.evasion_lines() {
                writeln!(out, "{l}")?;
            }
        }
        Ok(())
    }

    /// Mean rank-1 similarity over the weighted layers of each row (the aggregated
    /// image–class similarity of the paper's Fig. 5).
    fn aggregated(&self, rows: &[Vec<f64>]) -> Vec<f64> {
        let l = self.feature_names.len() / 2;
        rows.iter().map(|r| mean(&r[..l])).collect()
    }

    fn histogram(values: &[f64], bins: usize) -> Vec<(f64, f64)> {
        let mut counts = vec![0usize; bins];
        for v in values {
            counts[((v.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1)] += 1;
        }
        let n = values.len().max(1) as f64;
        (0..bins)
            .flat_map(|b| {
                let y = counts[b] as f64 / n;
                [
                    (b as f64 / bins as f64, y),
                    ((b + 1) as f64 / bins as f64, y),
                ]
            })
            .collect()
    }

    fn figures(&self, dir: &Path) -> Result<Vec<(String, String)>> {
        let mut figs = Vec::new();
        let mut save =
            |stem: &str, caption: &str, fig: &dyn Fn(&Path) -> Result<()>| -> Result<()> {
                fig(&dir.join(format!("{stem}.png")))?;
                fig(&dir.join(format!("{stem}.svg")))?;
                figs.push((stem.to_string(), caption.to_string()));
                Ok(())
            };
        for (name, r) in self.detector_rows() {
            let series: Vec<(String, Vec<(f64, f64)>)> = r
                .attacks
                .iter()
                .zip(&r.roc)
                .zip(r.summary())
                .map(|((a, (fpr, tpr)), (m, _))| {
                    (
                        format!("{a} (AUC {m:.3})"),
                        fpr.iter().copied().zip(tpr.iter().copied()).collect(),
                    )
                })
                .collect();
            let title = format!("ROC — {} detector", name);
            let lines = Lines {
                series: &series,
                title: &title,
                x_desc: "false positive rate",
                y_desc: "true positive rate",
                x_range: (0.0, 1.0),
                y_range: (0.0, 1.0),
                diagonal: true,
                legend_upper_left: false,
            };
            save(
                &format!("roc_{}", name),
                &format!("ROC curves of the {} detector (first repetition)", name),
                &|p| plot::save(&lines, p),
            )?;
        }
        let mut hist = vec![(
            "normal".to_string(),
            Self::histogram(&self.aggregated(&self.normal_rows), 25),
        )];
        for (a, rows) in &self.attack_rows {
            hist.push((a.clone(), Self::histogram(&self.aggregated(rows), 25)));
        }
        let ymax = hist
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.1))
            .fold(0.0, f64::max)
            * 1.1;
        let lines = Lines {
            series: &hist,
            title: "Image–class path similarity (rank 1, mean over layers)",
            x_desc: "|S ∩ P| / |S|",
            y_desc: "fraction of images",
            x_range: (0.0, 1.0),
            y_range: (0.0, ymax.max(0.05)),
            diagonal: false,
            legend_upper_left: true,
        };
        save(
            "similarity_distribution",
            "Distribution of the image–class similarity of normal and adversarial examples (paper Fig. 5)",
            &|p| plot::save(&lines, p),
        )?;
        let l = self.feature_names.len() / 2;
        let layers: Vec<String> = self.feature_names[..l]
            .iter()
            .map(|n| n.trim_start_matches("rank1/").to_string())
            .collect();
        let per_layer = |rows: &[Vec<f64>]| -> Vec<Option<f64>> {
            (0..l)
                .map(|j| Some(mean(&rows.iter().map(|r| r[j]).collect::<Vec<_>>())))
                .collect()
        };
        let mut bars = vec![("normal".to_string(), per_layer(&self.normal_rows))];
        for (a, rows) in &self.attack_rows {
            bars.push((a.clone(), per_layer(rows)));
        }
        let gb = GroupedBars {
            categories: &layers,
            series: &bars,
            title: "Mean rank-1 similarity per layer",
            x_desc: "layer",
            y_desc: "|S ∩ P| / |S|",
            percent: false,
        };
        save(
            "layer_similarity",
            "Mean rank-1 image–class similarity per weighted layer",
            &|p| plot::save(&gb, p),
        )?;
        for sw in &self.sweeps {
            let series: Vec<(String, Vec<(f64, f64)>)> = sw
                .series
                .iter()
                .map(|(a, v)| {
                    (
                        a.clone(),
                        sw.xs.iter().copied().zip(v.iter().copied()).collect(),
                    )
                })
                .collect();
            let x0 = sw.xs.iter().copied().fold(f64::INFINITY, f64::min);
            let x1 = sw.xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let (x0, x1) = if x0.is_finite() { (x0, x1) } else { (0.0, 1.0) };
            let lo = series
                .iter()
                .flat_map(|(_, p)| p.iter().map(|q| q.1))
                .fold(1.0, f64::min)
                .min(0.5);
            let lines = Lines {
                series: &series,
                title: &sw.title,
                x_desc: &sw.x_desc,
                y_desc: "AUC (linear detector)",
                x_range: (x0, if x1 > x0 { x1 } else { x0 + 1.0 }),
                y_range: (lo, 1.0),
                diagonal: false,
                legend_upper_left: false,
            };
            save(&sw.stem, &sw.title, &|p| plot::save(&lines, p))?;
        }
        if !self.evasion.is_empty() {
            let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            for c in &self.evasion {
                series.push((
                    format!("evasion, {}", c.label()),
                    c.points.iter().map(|p| (p.epsilon, p.rate())).collect(),
                ));
                series.push((
                    format!("detector AUC on fooled, {}", c.label()),
                    c.points
                        .iter()
                        .filter_map(|p| p.auc.map(|a| (p.epsilon, a)))
                        .collect(),
                ));
            }
            let x1 = self
                .evasion
                .iter()
                .flat_map(|c| c.points.iter().map(|p| p.epsilon))
                .fold(0.0, f64::max);
            let title = "Attacks that know the linear detector";
            let lines = Lines {
                series: &series,
                title,
                x_desc: "L2 budget ε (pixels)",
                y_desc: "evasion rate / AUC",
                x_range: (0.0, if x1 > 0.0 { x1 } else { 1.0 }),
                y_range: (0.0, 1.0),
                diagonal: false,
                legend_upper_left: false,
            };
            save(
                "evasion",
                "The adaptive attack (L2 PGD matching the last layers' activations to a target-class image) per budget: the fraction of attacked images that fool both the classifier and the linear detector at its threshold, and the detector's AUC on the images that fool the classifier",
                &|p| plot::save(&lines, p),
            )?;
        }
        let labels: Vec<String> = (0..self.class_jaccard.len())
            .map(|c| c.to_string())
            .collect();
        let hm = Heatmap {
            values: &self.class_jaccard,
            row_labels: &labels,
            col_labels: &labels,
            title: "Class path similarity (Jaccard of synapses)",
            x_desc: "class",
            y_desc: "class",
            range: (0.0, 1.0),
            bar_label: "Jaccard",
        };
        save(
            "class_jaccard",
            "Jaccard similarity between class paths (paper Fig. 2)",
            &|p| plot::save(&hm, p),
        )?;
        Ok(figs)
    }

    /// Writes numbers, figures and `index.html` into `dir`. The CSVs and figures are timed
    /// from `report_started` as the stage `report` (appended to [`stages`](Self::stages)), and
    /// the total time from `run_started`; both are in `results.json` and `index.html`, which
    /// are written last.
    pub fn write(
        &mut self,
        dir: &Path,
        report_started: Instant,
        run_started: Instant,
    ) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut csv = String::from("detector,attack,auc_mean,auc_std,repetitions\n");
        for (name, r) in self.detector_rows() {
            for (k, (m, s)) in r.summary().into_iter().enumerate() {
                let _ = writeln!(csv, "{},{},{m},{s},{}", name, r.attacks[k], r.auc[k].len());
            }
        }
        output::write_file(&dir.join("auc.csv"), csv.as_bytes())?;
        if !self.evasion.is_empty() {
            let mut ecsv =
                String::from("attack,layers,epsilon,attacked,fooled,evaded,evasion_rate,auc\n");
            for c in &self.evasion {
                for p in &c.points {
                    let _ = writeln!(
                        ecsv,
                        "{},{},{},{},{},{},{},{}",
                        c.attack.name(),
                        c.layers,
                        p.epsilon,
                        p.attacked,
                        p.fooled,
                        p.evaded,
                        p.rate(),
                        p.auc.map_or(String::new(), |a| a.to_string())
                    );
                }
            }
            output::write_file(&dir.join("evasion.csv"), ecsv.as_bytes())?;
        }
        let mut ocsv = String::from(
            "detector,attack,target_fpr,tpr_mean,tpr_std,test_fpr_mean,test_fpr_std,repetitions\n",
        );
        for (name, r) in self.detector_rows() {
            for (k, per_target) in r.operating_summary().into_iter().enumerate() {
                for o in per_target {
                    let _ = writeln!(
                        ocsv,
                        "{},{},{},{},{},{},{},{}",
                        name,
                        r.attacks[k],
                        o.target_fpr,
                        o.tpr.0,
                        o.tpr.1,
                        o.fpr.0,
                        o.fpr.1,
                        r.auc[k].len()
                    );
                }
            }
        }
        output::write_file(&dir.join("operating_points.csv"), ocsv.as_bytes())?;
        let mut acsv = String::from(
            "attack,images,attacked,successes,l0_mean,l2_mean,l2_median,linf_mean,seconds\n",
        );
        for a in &self.attacks {
            let s = &a.summary;
            let _ = writeln!(
                acsv,
                "{},{},{},{},{},{},{},{},{:.2}",
                a.name,
                s.images,
                s.attacked,
                s.successes,
                s.l0.mean,
                s.l2.mean,
                s.l2.median,
                s.linf.mean,
                a.seconds
            );
        }
        output::write_file(&dir.join("attacks.csv"), acsv.as_bytes())?;
        let mut scsv = String::from("sweep,x,attack,auc_mean\n");
        for sw in &self.sweeps {
            for (a, v) in &sw.series {
                for (x, auc) in sw.xs.iter().zip(v) {
                    let _ = writeln!(scsv, "{},{x},{a},{auc}", sw.stem);
                }
            }
        }
        output::write_file(&dir.join("sweeps.csv"), scsv.as_bytes())?;
        let mut gcsv = String::from("layers,guard_ms,forward_ms,ratio,images\n");
        for g in &self.guard_costs {
            let _ = writeln!(
                gcsv,
                "{},{:.4},{:.4},{:.4},{}",
                g.layers,
                g.guard_ms,
                g.forward_ms,
                g.ratio(),
                g.images
            );
        }
        output::write_file(&dir.join("guard_cost.csv"), gcsv.as_bytes())?;
        let figs = self.figures(dir)?;
        self.stages.push(Stage {
            name: "report".to_string(),
            seconds: report_started.elapsed().as_secs_f64(),
        });
        self.seconds = run_started.elapsed().as_secs_f64();
        let stages_json: Vec<_> = self
            .stages
            .iter()
            .map(|s| json!({"name": s.name, "seconds": s.seconds}))
            .collect();
        let guard_json: Vec<_> = self
            .guard_costs
            .iter()
            .map(|g| json!({"layers": g.layers, "guard_ms": g.guard_ms, "forward_ms": g.forward_ms, "ratio": g.ratio(), "images": g.images}))
            .collect();
        let evasion_json: Vec<_> = self
            .evasion
            .iter()
            .map(|c| json!({"attack": c.attack.name(), "layers": c.layers, "half_budget": c.half_budget(), "points": c.points.iter().map(|p| json!({
                "epsilon": p.epsilon, "attacked": p.attacked, "fooled": p.fooled, "evaded": p.evaded, "rate": p.rate(), "auc": p.auc})).collect::<Vec<_>>()}))
            .collect();
        let auc_json: Vec<_> = self.detector_rows().into_iter().map(|(name, r)| json!({"detector": name, "family": if self.auc.iter().any(|a| std::ptr::eq(a, r)) { "path" } else { "baseline" }, "attacks": r.attacks, "auc": r.auc, "summary": r.summary(),
            "target_fprs": r.target_fprs, "operating_points": r.operating, "operating_summary": r.operating_summary()})).collect();
        output::write_json_file(
            &dir.join("results.json"),
            &json!({"data": self.data.name(), "model": self.model, "fingerprint": self.fingerprint, "theta": self.theta, "normal_images": self.normal_images,
                    "features": self.feature_names, "dropped_rows": self.dropped, "auc": auc_json, "seconds": self.seconds, "stages": stages_json,
                    "guard_cost": guard_json, "targets": crate::targets::check(&self.auc), "evasion": evasion_json, "hardening": self.hardening.as_ref().map(|h| json!({"thetas": h.thetas, "member_fpr": h.member_fpr, "single_fpr": h.single_fpr, "ensemble_fpr": h.ensemble_fpr, "single_ms": h.single_ms, "ensemble_ms": h.ensemble_ms, "rows": h.rows.iter().map(|r| json!({"attack": r.attack, "single_auc": r.single_auc, "ensemble_auc": r.ensemble_auc})).collect::<Vec<_>>()})),
                    "evasion_fpr": self.evasion_fpr, "cw_median_l2": self.cw_median_l2}),
        )?;
        output::write_file(&dir.join("index.html"), self.html(dir, &figs)?.as_bytes())
    }

    /// The section on the saved class paths and detectors and how to use them.
    fn html_files(&self, h: &mut String) {
        let f = &self.files;
        let test = crate::data::Dataset::test_of(self.data).name();
        let _ = write!(
            h,
            "<h2>Class paths and detectors</h2><p>This folder holds the class paths the demo profiled (<a href=\"{0}\"><code>{0}</code></a>, the file <code>effpath profile</code> writes) and one trained detector per model, in the format of <code>effpath fit-detector</code>: each fitted on the training rows of the first repetition ({1} normal and {2} adversarial rows from all attacks), with its threshold set at {3} false-positive rate on the normal training rows.</p><ul>",
            html_escape(&f.classpaths),
            f.normal_rows,
            f.adversarial_rows,
            output::percent(f.fpr)
        );
        for (kind, name) in &f.detectors {
            let _ = write!(
                h,
                "<li>{}: <a href=\"{1}\"><code>{1}</code></a></li>",
                kind.name(),
                html_escape(name)
            );
        }
        h.push_str("</ul><p>To flag inputs with one of them (any detector file works in its place; <code>--json</code> prints JSON):</p>");
        if let Some((_, name)) = f.detectors.first() {
            let commands = [
                f.detect_command(name, &["--dataset", test, "--limit", "100"]),
                f.detect_command(name, &["--input", "X.npy"]),
            ];
            for c in commands {
                let _ = write!(
                    h,
                    "<pre><code class=\"cmd\">{}</code></pre>",
                    html_escape(&c)
                );
            }
            h.push_str("<p>(<code>X.npy</code>: float32 images of shape (N, 1, 28, 28) in [0, 1].) On the successful adversarial examples of an attack archive (rows keep their test-set index):</p>");
            let model = shell_word(&f.model);
            let attack = [
                "effpath",
                "attack",
                &model,
                "--attack",
                "fgsm",
                "--dataset",
                test,
                "--per-class",
                "5",
                "--out",
                "adv.npz",
            ]
            .join(" ");
            let _ = write!(
                h,
                "<pre><code class=\"attack\">{}</code></pre><pre><code class=\"cmd\">{}</code></pre>",
                html_escape(&attack),
                html_escape(&f.detect_command(name, &["--input", "adv.npz"]))
            );
        }
    }

    fn html(&self, dir: &Path, figs: &[(String, String)]) -> Result<String> {
        let mut h = String::from(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>effpath report</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}figure{margin:2em 0}figcaption{color:#555}</style></head><body>",
        );
        let _ = write!(
            h,
            "<h1>effpath — adversarial detection by effective paths</h1><p>Data <code>{4}</code> (embedded subset), model <code>{0}</code> (fingerprint <code>{1}</code>), θ = {2}, {3} correctly classified test images attacked; class paths from the training split. Total time {5:.0} s.</p>",
            self.model, self.fingerprint, self.theta, self.normal_images, self.data, self.seconds
        );
        h.push_str(&crate::targets::html(&crate::targets::check(&self.auc)));
        h.push_str("<h2>AUC per attack and detector</h2><table><tr><th>attack</th>");
        for (name, _) in self.detector_rows() {
            let _ = write!(h, "<th>{name}</th>");
        }
        h.push_str("</tr>");
        for (k, a) in self.auc[0].attacks.iter().enumerate() {
            let _ = write!(h, "<tr><td>{a}</td>");
            for (_, r) in self.detector_rows() {
                let (m, s) = r.summary()[k];
                let _ = write!(h, "<td>{m:.4} ± {s:.4}</td>");
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
        h.push_str(&self.versus_html());
        h.push_str("<h2>TPR at a fixed false-positive rate</h2><p>The threshold of each repetition's detector is the one that flags at most the given fraction of the normal <em>training</em> rows; the true-positive rate is measured on the adversarial test rows (mean ± std over repetitions), and in brackets the false-positive rate it realises on the normal test rows.</p><table><tr><th>attack</th><th>FPR target</th>");
        for (name, _) in self.detector_rows() {
            let _ = write!(h, "<th>{name}</th>");
        }
        h.push_str("</tr>");
        for (k, a) in self.auc[0].attacks.iter().enumerate() {
            for (t, target) in self.auc[0].target_fprs.iter().enumerate() {
                let _ = write!(h, "<tr><td>{a}</td><td>{}</td>", output::percent(*target));
                for (_, r) in self.detector_rows() {
                    let _ = write!(
                        h,
                        "<td>{}</td>",
                        operating_cell(&r.operating_summary()[k][t])
                    );
                }
                h.push_str("</tr>");
            }
        }
        h.push_str("</table>");
        if !self.evasion.is_empty() {
            let _ = write!(
                h,
                "<h2>Attacks that know the detector</h2><p>Activation matching (L2 PGD, 40 steps, towards the last layers' activations of a correctly classified image of a random target class) and the white-box attack (L2 PGD on classifier and detector together, checked against the real guard at every step, BPDA through a stand-in for its score) at each budget, against the linear detector at its threshold ({} FPR on normal training rows), and the white-box attack against the hardened guard (several θ at once). Evasion = the attack fools the classifier (into the target class, for activation matching) and the guard does not flag it. The hardening's clean AUC is on all normal and adversarial images, training rows included, for both guards alike.</p><pre>",
                output::percent(self.evasion_fpr)
            );
            for l in self.evasion_lines() {
                h.push_str(&html_escape(&l));
                h.push('\n');
            }
            h.push_str("</pre>");
        }
        h.push_str("<h2>Attacks</h2><table><tr><th>attack</th><th>success</th><th>mean L0</th><th>mean L2</th><th>median L2</th><th>mean L∞</th><th>time (s)</th></tr>");
        for a in &self.attacks {
            let s = &a.summary;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}/{}</td><td>{:.1}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.1}</td></tr>",
                a.name,
                s.successes,
                s.attacked,
                s.l0.mean,
                s.l2.mean,
                s.l2.median,
                s.linf.mean,
                a.seconds
            );
        }
        if let Some(first) = self.guard_costs.first() {
            let _ = write!(
                h,
                "</table><h2>The guard's cost</h2><p><code>Guard::check</code> (forward pass, rank-1 and rank-2 extraction of the last n weighted layers, the 2n features and the linear detector's score) on one image at a time, beside the plain forward pass of the same image; mean over {} test images, measured in this run (figure <code>sweep_overhead</code> plots each n's AUC against its overhead).</p><table><tr><th>last n layers</th><th>guard (ms)</th><th>forward (ms)</th><th>guard ÷ forward</th></tr>",
                first.images
            );
            for g in &self.guard_costs {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.2}×</td></tr>",
                    g.layers,
                    g.guard_ms,
                    g.forward_ms,
                    g.ratio()
                );
            }
        }
        h.push_str("</table><h2>Stage timings</h2><p>Wall time of each stage of this run (<code>report</code> covers the CSVs and figures).</p><table><tr><th>stage</th><th>time (s)</th></tr>");
        for st in &self.stages {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.1}</td></tr>",
                html_escape(&st.name),
                st.seconds
            );
        }
        let _ = write!(
            h,
            "<tr><th>total</th><th>{:.1}</th></tr></table>",
            self.seconds
        );
        for (stem, caption) in figs {
            let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg")))
                .with_context(|| format!("cannot read back {stem}.svg"))?;
            let _ = write!(
                h,
                "<figure>{svg}<figcaption>{caption} — <a href=\"{stem}.png\">PNG</a>, <a href=\"{stem}.svg\">SVG</a></figcaption></figure>"
            );
        }
        self.html_files(&mut h);
        h.push_str("<p>Numbers: <a href=\"auc.csv\">auc.csv</a>, <a href=\"operating_points.csv\">operating_points.csv</a>, <a href=\"attacks.csv\">attacks.csv</a>, <a href=\"sweeps.csv\">sweeps.csv</a>, <a href=\"guard_cost.csv\">guard_cost.csv</a>, <a href=\"results.json\">results.json</a>.</p></body></html>");
        Ok(h)
    }
}
