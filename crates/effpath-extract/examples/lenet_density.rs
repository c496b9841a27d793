//! Class paths of a LeNet-5 on the embedded MNIST training split: per-layer densities of the
//! overall path and the mean class-vs-class Jaccard, for a given θ.
//! `cargo run --release -p effpath-extract --example lenet_density -- MODEL.onnx [THETA]`

use effpath_algebra::{ElementKind, LayerSelection};
use effpath_data::{Mnist, Normalization};
use effpath_extract::{ClassPaths, ExtractOptions, ProfileOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .ok_or("usage: lenet_density MODEL.onnx [THETA]")?;
    let theta: f64 = args.next().map_or(Ok(0.5), |a| a.parse())?;
    let net = effpath_ir::onnx::load(&model)?;
    let train = Mnist::embedded_train()?;
    let x = train.to_tensor(.., Normalization::MNIST)?.into_dyn();
    let labels = train.labels();
    let t = std::time::Instant::now();
    let opts = ProfileOptions {
        extract: ExtractOptions::default().with_theta(theta),
        ..ProfileOptions::default()
    };
    let cp = ClassPaths::profile(&net, &x, labels, &opts, |_, _| {})?;
    println!(
        "profiled {} images in {:.1}s",
        cp.images_per_class().iter().sum::<usize>(),
        t.elapsed().as_secs_f64()
    );
    let overall = cp.overall();
    for (l, layer) in overall.space().layers().iter().enumerate() {
        let d = |k| {
            overall.layers()[l]
                .density(k)
                .map_or("-".to_string(), |v| format!("{:.4}", v))
        };
        println!(
            "{:8} neurons {} synapses {} weights {}",
            layer.name(),
            d(ElementKind::Neuron),
            d(ElementKind::Synapse),
            d(ElementKind::Weight)
        );
    }
    for sel in [LayerSelection::All, LayerSelection::Weighted] {
        println!(
            "overall {sel:?}: synapse density {:.4}, weight density {:?}",
            overall.density(ElementKind::Synapse, sel).unwrap_or(0.0),
            overall.density(ElementKind::Weight, sel)
        );
    }
    let m = cp.jaccard_matrix(ElementKind::Synapse, LayerSelection::All)?;
    let off: Vec<f64> = (0..10)
        .flat_map(|a| (0..10).filter(move |&b| b != a).map(move |b| (a, b)))
        .filter_map(|(a, b)| m[a][b])
        .collect();
    println!(
        "mean off-diagonal class Jaccard (synapses): {:.4}",
        off.iter().sum::<f64>() / off.len() as f64
    );
    let class_d: Vec<f64> = (0..10)
        .filter_map(|c| {
            cp.class(c)?
                .density(ElementKind::Synapse, LayerSelection::All)
        })
        .collect();
    println!(
        "mean class-path synapse density: {:.4}",
        class_d.iter().sum::<f64>() / class_d.len() as f64
    );
    Ok(())
}
