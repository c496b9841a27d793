//! The CDRP section of the study report: its CSVs, figures and HTML.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::cdrp::{CURVE_DETECTOR, CdrpSection, Curve};
use super::detection::Detection;
use crate::output;
use crate::plot::{bars::GroupedBars, lines::Lines};
use crate::report::html_escape;

/// Mean of `v` (0 for none).
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The rows of `d` for the curve detector: `(attack, path AUC, CDRP AUC)`.
fn curve_detector_rows(d: &Detection) -> Vec<(String, f64, Option<f64>)> {
    d.rows
        .iter()
        .filter(|r| r.detector == CURVE_DETECTOR.name())
        .map(|r| (r.attack.clone(), r.synapse, r.cdrp))
        .collect()
}

/// Writes `cdrp_curves.csv` (both curves, per method and attack) and `cdrp_timing.csv`.
pub fn csvs(c: &CdrpSection, dir: &Path) -> Result<()> {
    let mut s = String::from("curve,x,method,attack,auc\n");
    let mut rows = |name: &str, xs: &[f64], curves: &[Curve]| {
        for curve in curves {
            for (attack, aucs) in &curve.per_attack {
                for (x, a) in xs.iter().zip(aucs) {
                    let _ = writeln!(s, "{name},{x},{},{attack},{a}", curve.method);
                }
            }
        }
    };
    rows("training_fraction", &c.fractions, &c.training_size);
    let ks: Vec<f64> = (1..=c.attacks.len()).map(|k| k as f64).collect();
    rows("attacks_trained_on", &ks, &c.generalisation);
    output::write_file(&dir.join("cdrp_curves.csv"), s.as_bytes())?;
    let t = &c.timing;
    let timing = format!(
        "method,seconds_per_image,ratio_to_forward\nforward,{},1\ncdrp,{},{}\nfull_path,{},{}\npartial_path_last_{},{},{}\n",
        t.forward,
        t.cdrp,
        t.cdrp / t.forward,
        t.full,
        t.full / t.forward,
        t.partial_layers,
        t.partial,
        t.partial / t.forward
    );
    output::write_file(&dir.join("cdrp_timing.csv"), timing.as_bytes())
}

/// The three CDRP figures: AUC per attack, the training-size and generalisation curves.
pub fn figures(d: &Detection, dir: &Path) -> Result<Vec<(&'static str, String)>> {
    let c = &d.cdrp;
    let rows = curve_detector_rows(d);
    let categories: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let series = [
        (
            "effective path (synapses)".to_owned(),
            rows.iter().map(|r| Some(r.1)).collect(),
        ),
        ("CDRP gates".to_owned(), rows.iter().map(|r| r.2).collect()),
    ];
    let title = format!("Detection AUC per attack, {}", CURVE_DETECTOR.name());
    let bars = GroupedBars {
        categories: &categories,
        series: &series,
        title: &title,
        x_desc: "attack",
        y_desc: "ROC AUC",
        percent: false,
    };
    let mut figs = vec![(
        "cdrp_auc",
        super::report::save_both(&bars, dir, "cdrp_auc")?,
    )];
    let lines = |curves: &[Curve], xs: &[f64]| -> Vec<(String, Vec<(f64, f64)>)> {
        curves
            .iter()
            .map(|cv| {
                let pts = xs.iter().copied().zip(cv.mean.iter().copied()).collect();
                (format!("{} (mean over attacks)", cv.method), pts)
            })
            .collect()
    };
    let y_low = |curves: &[Curve]| {
        let low = curves
            .iter()
            .flat_map(|cv| cv.mean.iter().copied())
            .fold(1.0, f64::min);
        (low - 0.05).clamp(0.0, 0.9)
    };
    let size = lines(&c.training_size, &c.fractions);
    let title = format!("AUC vs training fraction, {}", CURVE_DETECTOR.name());
    let fig = Lines {
        series: &size,
        title: &title,
        x_desc: "fraction of each set used for training",
        y_desc: "ROC AUC",
        x_range: (0.1, 0.5),
        y_range: (y_low(&c.training_size), 1.0),
        diagonal: false,
        legend_upper_left: false,
    };
    figs.push((
        "cdrp_training_size",
        super::report::save_both(&fig, dir, "cdrp_training_size")?,
    ));
    let ks: Vec<f64> = (1..=c.attacks.len()).map(|k| k as f64).collect();
    let general = lines(&c.generalisation, &ks);
    let title = format!("AUC vs attacks trained on, {}", CURVE_DETECTOR.name());
    let fig = Lines {
        series: &general,
        title: &title,
        x_desc: "attacks in the training set (report order)",
        y_desc: "ROC AUC (all attacks)",
        x_range: (1.0, c.attacks.len().max(2) as f64),
        y_range: (y_low(&c.generalisation), 1.0),
        diagonal: false,
        legend_upper_left: false,
    };
    figs.push((
        "cdrp_generalisation",
        super::report::save_both(&fig, dir, "cdrp_generalisation")?,
    ));
    Ok(figs)
}

/// Which of two numbers is larger, in words, for the verdicts.
fn compare(ep: f64, cdrp: f64) -> &'static str {
    if ep > cdrp + 0.005 {
        "effective paths higher"
    } else if cdrp > ep + 0.005 {
        "CDRP higher"
    } else {
        "equal within 0.005"
    }
}

/// The section's HTML; `fig` inserts a figure by key.
pub fn html(d: &Detection, h: &mut String, fig: &dyn Fn(&mut String, &str)) {
    let c = &d.cdrp;
    h.push_str("<h2>CDRP, the paper's baseline (Figs. 8/17–19, Table 1)</h2><p class=\"claim\">Paper: effective paths detect adversarial examples at least as well as Wang et al.'s critical data routing paths (CDRP, per-image channel gates learned by SGD), need fewer training examples to do so, generalise better to attacks not trained on, and cost far less: on AlexNet CDRP takes about 70× the time of full and 240× the time of partial effective-path extraction (Table 1).</p>");
    let o = &c.options;
    let _ = write!(
        h,
        "<p>CDRP here: {} gates per image (every conv output channel and hidden dense neuron, after its batch norm), initialised at 1, {} momentum-SGD steps (lr {}, momentum {}) on the cross-entropy to the network's prediction plus {} × the gate sum, clipped to [0, {}]. On the {} normal images the final gates keep the prediction of {} and leave {} of the gates open. The detectors see the raw gate vector; the linear detector is left out for CDRP (it needs rank-1/rank-2 similarity pairs).</p>",
        c.gates,
        o.steps,
        o.learning_rate,
        o.momentum,
        o.l1,
        o.max_gate,
        c.normal_kept.0,
        c.normal_kept.1,
        super::report::pct(c.normal_open)
    );
    let all_cdrp: Vec<(f64, f64)> = d
        .rows
        .iter()
        .filter_map(|r| r.cdrp.map(|c| (r.synapse, c)))
        .collect();
    let (ep, cd): (Vec<f64>, Vec<f64>) = all_cdrp.iter().copied().unzip();
    let wins = all_cdrp.iter().filter(|(e, c)| e > c).count();
    let _ = write!(
        h,
        "<p>Measured: mean AUC over every attack and the five detectors that take both {:.3} with effective-path synapse features, {:.3} with CDRP gates ({}); effective paths are higher in {wins} of {} attack × detector pairs. The table above has the AUCs side by side.</p>",
        mean(&ep),
        mean(&cd),
        compare(mean(&ep), mean(&cd)),
        all_cdrp.len()
    );
    fig(h, "cdrp_auc");
    let first_last = |curves: &[Curve]| -> String {
        curves
            .iter()
            .map(|cv| {
                let f = cv.mean.first().copied().unwrap_or(f64::NAN);
                let l = cv.mean.last().copied().unwrap_or(f64::NAN);
                format!("{} {f:.3} → {l:.3}", cv.method)
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let at_first = |curves: &[Curve]| -> (f64, f64) {
        let v = |k: usize| curves.get(k).and_then(|cv| cv.mean.first().copied());
        (v(0).unwrap_or(f64::NAN), v(1).unwrap_or(f64::NAN))
    };
    let (e0, c0) = at_first(&c.training_size);
    let _ = write!(
        h,
        "<h3>Training-set size (Fig. 18)</h3><p>Measured ({}, mean AUC over the attacks, training fraction {:.1} → {:.1}): {}. At the smallest training set: {}.</p>",
        CURVE_DETECTOR.name(),
        c.fractions.first().copied().unwrap_or(0.0),
        c.fractions.last().copied().unwrap_or(0.0),
        first_last(&c.training_size),
        compare(e0, c0)
    );
    fig(h, "cdrp_training_size");
    let (e1, c1) = at_first(&c.generalisation);
    let _ = write!(
        h,
        "<h3>Generalisation to unseen attacks (Fig. 19)</h3><p>The detector is trained on the first k attacks ({}) and tested on all of them. Measured (mean AUC over all attacks, k = 1 → {}): {}. Trained on {} alone: {}.</p>",
        html_escape(&c.attacks.join(", ")),
        c.attacks.len(),
        first_last(&c.generalisation),
        html_escape(c.attacks.first().map_or("", String::as_str)),
        compare(e1, c1)
    );
    fig(h, "cdrp_generalisation");
    let t = &c.timing;
    let _ = write!(
        h,
        "<h3>Extraction time (Table 1)</h3><p>Per image, on the same {} normal images, one at a time (each run once untimed first), in this run:</p><table><tr><th>method</th><th>ms per image</th><th>÷ forward pass</th></tr><tr><td>forward pass</td><td>{:.3}</td><td>1</td></tr><tr><td>CDRP gates</td><td>{:.3}</td><td>{:.1}</td></tr><tr><td>effective path, full</td><td>{:.3}</td><td>{:.1}</td></tr><tr><td>effective path, last {} weighted layers</td><td>{:.3}</td><td>{:.1}</td></tr></table><p>Measured: CDRP takes {:.1}× the time of full and {:.1}× the time of partial extraction (paper, AlexNet: 70× and 240×).</p>",
        t.images,
        1e3 * t.forward,
        1e3 * t.cdrp,
        t.cdrp / t.forward,
        1e3 * t.full,
        t.full / t.forward,
        t.partial_layers,
        1e3 * t.partial,
        t.partial / t.forward,
        t.cdrp / t.full,
        t.cdrp / t.partial
    );
}
