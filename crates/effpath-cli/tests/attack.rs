//! `effpath attack` end to end: DeepFool on 10 correctly classified MNIST digits of the
//! trained LeNet, the summary on stdout and the `.npz` archive.

use effpath::data::read_npz;

mod common;
use common::effpath;

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../effpath-attack/tests/data/lenet-mnist.onnx"
);

#[test]
fn deepfool_writes_a_summary_and_an_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("adv.npz");
    let out_s = out.to_str().expect("utf-8 path");
    let common = [
        "attack",
        MODEL,
        "--dataset",
        "mnist-test",
        "--normalize",
        "mnist",
        "--per-class",
        "1",
        "--out",
        out_s,
        "-q",
    ];
    let mut args = common.to_vec();
    args.extend(["--attack", "deepfool"]);
    let o = effpath(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("attacked: 10 correctly classified images"),
        "{stdout}"
    );
    let adv = read_npz::<f32>(&out, "adv").expect("adv");
    assert_eq!(adv.shape(), &[10, 1, 28, 28]);
    assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)));
    let label = read_npz::<i64>(&out, "label").expect("label");
    let pred = read_npz::<i64>(&out, "adv_pred").expect("adv_pred");
    let success = read_npz::<u8>(&out, "success").expect("success");
    let target = read_npz::<i64>(&out, "target").expect("target");
    assert_eq!(read_npz::<i64>(&out, "orig_pred").expect("orig"), label);
    assert!(target.iter().all(|&t| t == -1));
    for i in 0..10 {
        assert_eq!(success[i] == 1, pred[i] != label[i]);
    }
    assert!(
        read_npz::<f32>(&out, "l2")
            .expect("l2")
            .iter()
            .all(|&v| v >= 0.0)
    );

    // An unknown hyper-parameter is an error, and the archive is left as it was.
    let mut bad = common.to_vec();
    bad.extend(["--attack", "fgsm", "--param", "bogus=1"]);
    let o = effpath(&bad);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bogus"));
    assert_eq!(read_npz::<f32>(&out, "adv").expect("adv").shape()[0], 10);
}
