//! The study report: `study.json`, one CSV per section, PNG and SVG figures and `index.html`
//! with each of the paper's claims beside the measured result.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use effpath::study::{GrowthPoint, Hierarchy, LayerDensity, Masking, Phase};
use serde::Serialize;

use crate::output;
use crate::plot::{self, bars::GroupedBars, heatmap::Heatmap, lines::Lines, scatter::Scatter};
use crate::report::html_escape;

/// Everything the study measured.
#[derive(Debug, Serialize)]
pub struct Study {
    /// The shipped model.
    pub model: &'static str,
    /// The embedded data set.
    pub data: &'static str,
    /// Whether this was a `--fast` run.
    pub fast: bool,
    /// θ of the image paths.
    pub theta: f64,
    /// Training images profiled.
    pub train_images: usize,
    /// Test images the accuracies are measured on.
    pub test_images: usize,
    /// Correctly classified training images in each class path.
    pub images_per_class: Vec<usize>,
    /// §2.2.
    pub masking: Masking,
    /// Fig. 3.
    pub growth: Vec<GrowthPoint>,
    /// App. B (Fashion-MNIST only: MNIST's digits have no natural groups).
    pub hierarchy: Option<Hierarchy>,
    /// Figs. 22/23.
    pub layers: Vec<LayerDensity>,
    /// App. C.2 (`None` when skipped).
    pub detection: Option<super::detection::Detection>,
    /// App. E.1 (`None` when skipped).
    pub training: Option<Training>,
    /// Class names of the data set.
    pub class_names: Vec<String>,
    /// Seconds spent loading and profiling.
    pub seconds_profile: f64,
    /// Seconds of the whole run.
    pub seconds_total: f64,
}

/// The training-phase run and its checkpoints.
#[derive(Debug, Serialize)]
pub struct Training {
    /// Training images.
    pub train_images: usize,
    /// Training images profiled at each checkpoint.
    pub profiled_images: usize,
    /// The training configuration.
    pub config: effpath::training::TrainConfig,
    /// Before training, then after every epoch.
    pub phases: Vec<Phase>,
}

pub(super) fn pct(v: f64) -> String {
    format!("{:.2} %", 100.0 * v)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.6}"))
}

impl Study {
    /// The overall path's weight density (nothing deactivated).
    fn path_density(&self) -> Option<f64> {
        self.masking.points.first().map(|p| p.weight_density)
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} on {}: {} training images profiled, accuracies on {} test images",
            self.model, self.data, self.train_images, self.test_images
        );
        if let Some(p) = self.masking.points.first() {
            let _ = write!(
                s,
                "\nmasking: full {}; overall path ({} of the weights) {}; magnitude pruning at that density {}",
                pct(self.masking.full_accuracy),
                pct(p.weight_density),
                pct(p.path_accuracy),
                pct(p.magnitude_accuracy)
            );
        }
        if let (Some(first), Some(last)) = (self.growth.first(), self.growth.last()) {
            let _ = write!(
                s,
                "\ndensity growth: synapses {} (1 class) -> {} ({} classes); weights {} -> {}",
                pct(first.synapse),
                pct(last.synapse),
                last.classes,
                pct(first.weight),
                pct(last.weight)
            );
        }
        if let Some(h) = &self.hierarchy {
            let _ = write!(
                s,
                "\nclass hierarchy: mean Jaccard within groups {}, between groups {}",
                opt(h.within),
                opt(h.between)
            );
        }
        if let Some(d) = &self.detection {
            let t = &d.cdrp.timing;
            let (ep, cdrp): (Vec<f64>, Vec<f64>) = d
                .rows
                .iter()
                .filter_map(|r| r.cdrp.map(|c| (r.synapse, c)))
                .unzip();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            let _ = write!(
                s,
                "\ndetection: mean AUC synapses {:.3}, CDRP gates {:.3}; CDRP time {:.1}x full and {:.1}x partial extraction",
                mean(&ep),
                mean(&cdrp),
                t.cdrp / t.full,
                t.cdrp / t.partial
            );
        }
        s
    }

    fn csvs(&self, dir: &Path) -> Result<()> {
        let mut m = String::from(
            "deactivated,weight_density,path_accuracy,magnitude_accuracy,full_accuracy\n",
        );
        for p in &self.masking.points {
            let _ = writeln!(
                m,
                "{},{},{},{},{}",
                p.deactivated,
                p.weight_density,
                p.path_accuracy,
                p.magnitude_accuracy,
                self.masking.full_accuracy
            );
        }
        output::write_file(&dir.join("masking.csv"), m.as_bytes())?;
        let mut g = String::from("classes,added,synapse_density,weight_density\n");
        for p in &self.growth {
            let _ = writeln!(g, "{},{},{},{}", p.classes, p.added, p.synapse, p.weight);
        }
        output::write_file(&dir.join("growth.csv"), g.as_bytes())?;
        let mut l = String::from(
            "layer,weighted,neuron_density,synapse_density,weight_density,class_mean_synapse_density\n",
        );
        for d in &self.layers {
            let [n, s, w] = d.overall;
            let _ = writeln!(
                l,
                "{},{},{},{},{},{}",
                d.layer,
                d.weighted,
                opt(n),
                opt(s),
                opt(w),
                opt(d.class_mean_synapse)
            );
        }
        output::write_file(&dir.join("layers.csv"), l.as_bytes())?;
        if let Some(h) = &self.hierarchy {
            let names: Vec<&str> = h
                .order
                .iter()
                .map(|&c| self.class_names[c].as_str())
                .collect();
            let mut c = format!("class,{}\n", names.join(","));
            for (name, row) in names.iter().zip(&h.jaccard) {
                let cells: Vec<String> = row.iter().map(|v| opt(*v)).collect();
                let _ = writeln!(c, "{name},{}", cells.join(","));
            }
            output::write_file(&dir.join("hierarchy.csv"), c.as_bytes())?;
        }
        if let Some(t) = &self.training {
            let mut c = String::from(
                "epoch,test_accuracy,images,synapse_density,weight_density,jaccard_min,jaccard_q1,jaccard_median,jaccard_q3,jaccard_max\n",
            );
            for p in &t.phases {
                let j = p
                    .jaccard
                    .map_or_else(|| ",,,,".to_owned(), |j| j.map(|v| v.to_string()).join(","));
                let _ = writeln!(
                    c,
                    "{},{},{},{},{},{j}",
                    p.epoch, p.test_accuracy, p.images, p.synapse_density, p.weight_density
                );
            }
            output::write_file(&dir.join("training.csv"), c.as_bytes())?;
        }
        if let Some(detection) = &self.detection {
            let mut d = String::from("attack,detector,synapse_auc,weight_auc,cdrp_auc\n");
            for r in &detection.rows {
                let _ = writeln!(
                    d,
                    "{},{},{},{},{}",
                    r.attack,
                    r.detector,
                    r.synapse,
                    r.weight,
                    opt(r.cdrp)
                );
            }
            output::write_file(&dir.join("detection.csv"), d.as_bytes())?;
            super::cdrp_report::csvs(&detection.cdrp, dir)?;
        }
        output::write_json_file(&dir.join("study.json"), self)
    }

    fn figures(&self, dir: &Path) -> Result<Vec<(&'static str, String)>> {
        let mut figs = Vec::new();
        let masking = [
            (
                "masked to the path".to_owned(),
                self.masking
                    .points
                    .iter()
                    .map(|p| (p.weight_density, p.path_accuracy))
                    .collect(),
            ),
            (
                "magnitude pruning, same per-layer counts".to_owned(),
                self.masking
                    .points
                    .iter()
                    .map(|p| (p.weight_density, p.magnitude_accuracy))
                    .collect(),
            ),
        ];
        let max_density = self.path_density().unwrap_or(1.0).max(1e-3);
        let lines = Lines {
            series: &masking,
            title: "Accuracy of the masked network",
            x_desc: "weight density of the mask",
            y_desc: "test accuracy",
            x_range: (0.0, max_density * 1.05),
            y_range: (0.0, 1.0),
            diagonal: false,
            legend_upper_left: true,
        };
        figs.push(("masking", save_both(&lines, dir, "masking")?));
        let growth = [
            (
                "synapses".to_owned(),
                self.growth
                    .iter()
                    .map(|p| (p.classes as f64, p.synapse))
                    .collect(),
            ),
            (
                "weights".to_owned(),
                self.growth
                    .iter()
                    .map(|p| (p.classes as f64, p.weight))
                    .collect(),
            ),
        ];
        let top = self
            .growth
            .iter()
            .map(|p| p.synapse.max(p.weight))
            .fold(0.0, f64::max)
            .max(1e-3);
        let lines = Lines {
            series: &growth,
            title: "Density of the union as classes merge",
            x_desc: "classes merged",
            y_desc: "density (weighted layers)",
            x_range: (1.0, self.growth.len().max(2) as f64),
            y_range: (0.0, top * 1.1),
            diagonal: false,
            legend_upper_left: true,
        };
        figs.push(("growth", save_both(&lines, dir, "growth")?));
        let categories: Vec<String> = self.layers.iter().map(|l| l.layer.clone()).collect();
        let series = [
            (
                "overall path, synapses".to_owned(),
                self.layers.iter().map(|l| l.overall[1]).collect(),
            ),
            (
                "overall path, weights".to_owned(),
                self.layers.iter().map(|l| l.overall[2]).collect(),
            ),
            (
                "class paths (mean), synapses".to_owned(),
                self.layers.iter().map(|l| l.class_mean_synapse).collect(),
            ),
        ];
        let bars = GroupedBars {
            categories: &categories,
            series: &series,
            title: "Per-layer density",
            x_desc: "layer",
            y_desc: "density",
            percent: true,
        };
        figs.push(("layers", save_both(&bars, dir, "layers")?));
        if let Some(d) = &self.detection {
            let scatter = Scatter {
                series: &d.tsne,
                title: "t-SNE of the rank-1/rank-2 synapse similarities",
            };
            figs.push(("tsne", save_both(&scatter, dir, "tsne")?));
            figs.extend(super::cdrp_report::figures(d, dir)?);
        }
        if let Some(t) = &self.training {
            let line = |f: &dyn Fn(&Phase) -> Option<f64>| -> Vec<(f64, f64)> {
                t.phases
                    .iter()
                    .filter_map(|p| f(p).map(|v| (p.epoch as f64, v)))
                    .collect()
            };
            let series = [
                ("test accuracy".to_owned(), line(&|p| Some(p.test_accuracy))),
                (
                    "synapse density".to_owned(),
                    line(&|p| Some(p.synapse_density)),
                ),
                (
                    "Jaccard, lower quartile".to_owned(),
                    line(&|p| p.jaccard.map(|j| j[1])),
                ),
                (
                    "Jaccard, median".to_owned(),
                    line(&|p| p.jaccard.map(|j| j[2])),
                ),
                (
                    "Jaccard, upper quartile".to_owned(),
                    line(&|p| p.jaccard.map(|j| j[3])),
                ),
            ];
            let lines = Lines {
                series: &series,
                title: "Class paths while the network trains",
                x_desc: "epochs trained",
                y_desc: "accuracy / density / class-pair Jaccard",
                x_range: (0.0, t.phases.len().saturating_sub(1).max(1) as f64),
                y_range: (0.0, 1.0),
                diagonal: false,
                legend_upper_left: false,
            };
            figs.push(("training", save_both(&lines, dir, "training")?));
        }
        if let Some(h) = &self.hierarchy {
            let labels: Vec<String> = h
                .order
                .iter()
                .map(|&c| self.class_names[c].clone())
                .collect();
            let map = Heatmap {
                values: &h.jaccard,
                row_labels: &labels,
                col_labels: &labels,
                title: "Class-path Jaccard, classes in group order",
                x_desc: "class",
                y_desc: "class",
                range: (0.0, 1.0),
                bar_label: "Jaccard (synapses)",
            };
            figs.push(("hierarchy", save_both(&map, dir, "hierarchy")?));
        }
        Ok(figs)
    }

    /// Writes the report folder.
    pub fn write(&self, dir: &Path) -> Result<()> {
        self.csvs(dir)?;
        let figs = self.figures(dir)?;
        output::write_file(&dir.join("index.html"), self.html(&figs).as_bytes())
    }

    fn html(&self, figs: &[(&'static str, String)]) -> String {
        let mut h = String::from(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>effpath study</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.claim{background:#f7f7ff;padding:.5em 1em}</style></head><body>",
        );
        let _ = write!(
            h,
            "<h1>effpath study: {} on {}</h1><p>{} training images profiled at θ = {} ({} correctly classified in the class paths); accuracies on the first {} test images{}. {:.1} s in all. Numbers: <code>study.json</code> and one CSV per section.</p>",
            html_escape(self.model),
            html_escape(self.data),
            self.train_images,
            self.theta,
            self.images_per_class.iter().sum::<usize>(),
            self.test_images,
            if self.fast { " (a --fast run)" } else { "" },
            self.seconds_total
        );
        let fig = |h: &mut String, key: &str| {
            if let Some((_, file)) = figs.iter().find(|(k, _)| *k == key) {
                let _ = write!(h, "<p><img src=\"{file}\" alt=\"{key}\"></p>");
            }
        };
        // Masking.
        h.push_str("<h2>Masking the network to its path (§2.2)</h2>");
        h.push_str("<p class=\"claim\">Paper: a network keeps its accuracy when every weight outside the overall effective path is zeroed, and the path (about 13.8 % of LeNet's weights at θ = 0.5 in the original code) is more representative than a static magnitude-pruned mask of the same density.</p>");
        if let Some(p) = self.masking.points.first() {
            let verdict = if p.path_accuracy + 0.01 >= self.masking.full_accuracy {
                "keeps the accuracy (within 1 point)"
            } else {
                "loses accuracy"
            };
            let versus = if p.path_accuracy > p.magnitude_accuracy {
                "better than"
            } else if p.path_accuracy < p.magnitude_accuracy {
                "worse than"
            } else {
                "the same as"
            };
            let _ = write!(
                h,
                "<p>Measured: full network {}; masked to the overall path ({} of the weights) {} — it {verdict}; magnitude pruning with the same per-layer counts {} — the path is {versus} magnitude pruning.</p>",
                pct(self.masking.full_accuracy),
                pct(p.weight_density),
                pct(p.path_accuracy),
                pct(p.magnitude_accuracy)
            );
        }
        h.push_str("<table><tr><th>path weights deactivated</th><th>weight density</th><th>accuracy, path</th><th>accuracy, magnitude</th></tr>");
        for p in &self.masking.points {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                pct(p.deactivated),
                pct(p.weight_density),
                pct(p.path_accuracy),
                pct(p.magnitude_accuracy)
            );
        }
        h.push_str("</table>");
        fig(&mut h, "masking");
        // Growth.
        h.push_str("<h2>Density as classes merge (Fig. 3)</h2><p class=\"claim\">Paper: the density of the union grows quickly with the first classes and then saturates: classes share much of their paths.</p>");
        if let (Some(first), Some(last)) = (self.growth.first(), self.growth.last()) {
            let _ = write!(
                h,
                "<p>Measured: synapse density {} with one class, {} with all {} (×{:.1}); weight density {} → {} (×{:.1}).</p>",
                pct(first.synapse),
                pct(last.synapse),
                last.classes,
                last.synapse / first.synapse.max(f64::MIN_POSITIVE),
                pct(first.weight),
                pct(last.weight),
                last.weight / first.weight.max(f64::MIN_POSITIVE)
            );
        }
        fig(&mut h, "growth");
        // Hierarchy.
        h.push_str("<h2>Class hierarchy (App. B)</h2><p class=\"claim\">Paper: classes of one semantic group (Fashion-MNIST: tops; footwear; the rest) share more of their paths than classes of different groups.</p>");
        match &self.hierarchy {
            Some(hier) => {
                let verdict = match (hier.within, hier.between) {
                    (Some(w), Some(b)) if w > b => "agrees: pairs within a group share more",
                    (Some(_), Some(_)) => "disagrees: pairs within a group do not share more",
                    _ => "cannot tell: some classes have no path",
                };
                let _ = write!(
                    h,
                    "<p>Measured: mean synapse Jaccard within groups {}, between groups {} — this {verdict}.</p>",
                    opt(hier.within),
                    opt(hier.between)
                );
                fig(&mut h, "hierarchy");
            }
            None => h.push_str("<p>Not applicable to MNIST: digits have no natural groups. Run <code>effpath study --data fashion-mnist</code>.</p>"),
        }
        // Layers.
        h.push_str("<h2>Per-layer density (Figs. 22/23)</h2><p class=\"claim\">Paper: densities differ strongly between layers; the layers near the output are the densest part of the path.</p><table><tr><th>layer</th><th>neurons</th><th>synapses</th><th>weights</th><th>class paths, synapses (mean)</th></tr>");
        for d in &self.layers {
            let [n, s, w] = d.overall;
            let cell = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), pct);
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&d.layer),
                cell(n),
                cell(s),
                cell(w),
                cell(d.class_mean_synapse)
            );
        }
        h.push_str("</table>");
        fig(&mut h, "layers");
        self.html_detection(&mut h);
        fig(&mut h, "tsne");
        match &self.detection {
            Some(d) => super::cdrp_report::html(d, &mut h, &fig),
            None => h.push_str("<h2>CDRP, the paper's baseline (Figs. 8/17–19, Table 1)</h2><p>Skipped in this run (<code>--skip detection</code>): CDRP runs on the detection section's images.</p>"),
        }
        self.html_training(&mut h);
        fig(&mut h, "training");
        h.push_str("</body></html>\n");
        h
    }
}

impl Study {
    fn html_training(&self, h: &mut String) {
        h.push_str("<h2>Training phases (App. E.1, Fig. 21)</h2><p class=\"claim\">Paper: while a network trains, its class paths go through three phases — first the density and the similarity between classes change fast, then the classes separate (similarity falls) while accuracy rises, then both settle.</p>");
        let Some(t) = &self.training else {
            h.push_str("<p>Skipped in this run (<code>--skip training</code>).</p>");
            return;
        };
        let _ = write!(
            h,
            "<p>A fresh network trained on {} images ({} epochs, lr {}, batch {}, seed {}), profiled on {} training images before training and after every epoch. The box plots of the paper are drawn here as the quartiles of the class-pair Jaccard similarity.</p><table><tr><th>epoch</th><th>test accuracy</th><th>images in class paths</th><th>synapse density</th><th>Jaccard min / q1 / median / q3 / max</th></tr>",
            t.train_images,
            t.config.epochs,
            t.config.lr,
            t.config.batch_size,
            t.config.seed,
            t.profiled_images
        );
        for p in &t.phases {
            let j = p.jaccard.map_or_else(
                || "—".to_owned(),
                |j| j.map(|v| format!("{v:.3}")).join(" / "),
            );
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{j}</td></tr>",
                p.epoch,
                pct(p.test_accuracy),
                p.images,
                pct(p.synapse_density)
            );
        }
        h.push_str("</table>");
    }

    fn html_detection(&self, h: &mut String) {
        h.push_str("<h2>Weight-based detection (App. C.2)</h2><p class=\"claim\">Paper: the similarity of weights, |W ∩ W_class| / |W| per layer, detects adversarial inputs about as well as the similarity of synapses.</p>");
        let Some(d) = &self.detection else {
            h.push_str("<p>Skipped in this run (<code>--skip detection</code>).</p>");
            return;
        };
        let (s, w): (Vec<f64>, Vec<f64>) = d.rows.iter().map(|r| (r.synapse, r.weight)).unzip();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let _ = write!(
            h,
            "<p>Measured on {} correctly classified test images and their successful adversarial examples ({}), {} repetitions of a 10 % / 90 % split, the similarity of an empty layer counted as 1 for both kinds: mean AUC over all attacks and detectors {:.3} with synapses, {:.3} with weights.</p><table><tr><th>attack</th><th>detector</th><th>AUC, synapses</th><th>AUC, weights</th><th>AUC, CDRP gates</th></tr>",
            d.normal_images,
            d.adversarial
                .iter()
                .map(|(a, n)| format!("{a}: {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            d.repetitions,
            mean(&s),
            mean(&w)
        );
        for r in &d.rows {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td></tr>",
                html_escape(&r.attack),
                r.detector,
                r.synapse,
                r.weight,
                r.cdrp.map_or_else(|| "—".to_owned(), |v| format!("{v:.3}"))
            );
        }
        h.push_str("</table>");
        let _ = write!(
            h,
            "<h3>t-SNE of the features (Fig. 15)</h3><p class=\"claim\">Paper: in a t-SNE of the rank-1/rank-2 similarity features, adversarial examples form clusters apart from the normal images.</p><p>Measured: the embedding below (exact t-SNE, perplexity ≤ 30, 750 iterations, seeded) of at most {} rows of each set; judge the separation by eye — the AUCs above are its number.</p>",
            super::detection::TSNE_PER_SET
        );
    }
}

/// Saves `figure` as `<name>.png` and `<name>.svg` in `dir`; returns the PNG's file name.
pub(super) fn save_both(figure: &impl plot::Figure, dir: &Path, name: &str) -> Result<String> {
    plot::save(figure, &dir.join(format!("{name}.svg")))?;
    let png = format!("{name}.png");
    plot::save(figure, &dir.join(&png))?;
    Ok(png)
}
