//! Trains LeNet-5 on the embedded MNIST subset and prints per-epoch accuracy.
//! `cargo run --release -p effpath-train --example lenet_mnist -- [EPOCHS] [SEED]`

use effpath_data::Mnist;
use effpath_train::{Event, TrainConfig, train};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let epochs = args.next().map_or(Ok(10), |a| a.parse())?;
    let seed = args.next().map_or(Ok(0), |a| a.parse())?;
    let (tr, te) = (Mnist::embedded_train()?, Mnist::embedded_test()?);
    let mut net = effpath_ir::zoo::lenet5(seed);
    let lr: f32 = std::env::var("LR")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.01);
    let cosine = std::env::var("COSINE").is_ok();
    let cfg = TrainConfig {
        epochs,
        seed,
        lr,
        schedule: if cosine {
            effpath_train::Schedule::Cosine
        } else {
            effpath_train::Schedule::Constant
        },
        max_shift: std::env::var("SHIFT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        ..TrainConfig::default()
    };
    let t = std::time::Instant::now();
    train(&mut net, &tr, Some(&te), &cfg, |e| {
        if let Event::Epoch(s) = e {
            println!(
                "epoch {} loss {:.4} train {:.4} test {:?} ({:.1}s)",
                s.epoch,
                s.train_loss,
                s.train_accuracy,
                s.test_accuracy,
                t.elapsed().as_secs_f64()
            );
        }
    })?;
    if let Ok(out) = std::env::var("OUT") {
        effpath_ir::onnx::save(&net, &out)?;
        println!("saved {out} (fingerprint {})", net.fingerprint());
    }
    Ok(())
}
