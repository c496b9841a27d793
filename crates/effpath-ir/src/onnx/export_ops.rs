//! IR → ONNX for the activations, broadcasting binary ops, Slice and Pad.

use ndarray::{ArrayD, IxDyn};

use super::export::EXPORT_OPSET;
use super::proto::attribute_proto::AttributeType;
use super::proto::{AttributeProto, NodeProto, TensorProto};
use super::tensor::{f32_to_tensor, i64_to_tensor};
use crate::op::{Activation, Op, Pad, Slice};

/// The lowest opset that has every op of the network (11, or 14 with HardSwish, 20 with
/// Gelu).
pub(super) fn opset_for<'a>(ops: impl Iterator<Item = &'a Op>) -> i64 {
    ops.map(|op| match op {
        Op::Activation(Activation::HardSwish) => 14,
        Op::Activation(Activation::Gelu { .. }) => 20,
        _ => EXPORT_OPSET,
    })
    .max()
    .unwrap_or(EXPORT_OPSET)
    .max(EXPORT_OPSET)
}

/// The ONNX IR version that goes with an opset.
pub(super) fn ir_version_for(opset: i64) -> i64 {
    match opset {
        ..=11 => 6,
        12..=14 => 7,
        15..=18 => 8,
        _ => 9,
    }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::String as i32),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

fn i64s(name: &str, v: Vec<i64>) -> TensorProto {
    let n = v.len();
    i64_to_tensor(
        name,
        &ArrayD::from_shape_vec(IxDyn(&[n]), v).expect("1-D vector"),
    )
}

fn scalar(name: &str, v: f32) -> TensorProto {
    f32_to_tensor(name, &ArrayD::from_elem(IxDyn(&[]), v))
}

/// The node (type, attributes) of an activation; extra inputs are appended to `inputs` as
/// initializers named after `node`, and a helper node (SiLU's `Sigmoid`) goes to `pre`.
/// `rank` is the per-sample rank of the input.
pub(super) fn activation(
    act: &Activation,
    node: &str,
    rank: usize,
    inputs: &mut Vec<String>,
    inits: &mut Vec<TensorProto>,
    pre: &mut Vec<NodeProto>,
) -> (&'static str, Vec<AttributeProto>) {
    match act {
        Activation::Clip { min, max } => {
            for (s, v) in [("min", *min), ("max", *max)] {
                let n = format!("{node}.{s}");
                inits.push(scalar(&n, v));
                inputs.push(n);
            }
            ("Clip", vec![])
        }
        Activation::LeakyRelu(a) => ("LeakyRelu", vec![float("alpha", *a)]),
        Activation::Prelu(s) => {
            let n = format!("{node}.slope");
            let mut shape = vec![s.len()];
            if s.len() > 1 {
                shape.extend(std::iter::repeat_n(1, rank.saturating_sub(1)));
            }
            let t = ArrayD::from_shape_vec(IxDyn(&shape), s.to_vec()).expect("slope size");
            inits.push(f32_to_tensor(&n, &t));
            inputs.push(n);
            ("PRelu", vec![])
        }
        Activation::Elu(a) => ("Elu", vec![float("alpha", *a)]),
        Activation::Selu { alpha, gamma } => {
            ("Selu", vec![float("alpha", *alpha), float("gamma", *gamma)])
        }
        Activation::Sigmoid => ("Sigmoid", vec![]),
        Activation::HardSigmoid { alpha, beta } => (
            "HardSigmoid",
            vec![float("alpha", *alpha), float("beta", *beta)],
        ),
        Activation::HardSwish => ("HardSwish", vec![]),
        Activation::Tanh => ("Tanh", vec![]),
        Activation::Softplus => ("Softplus", vec![]),
        Activation::Gelu { tanh } => (
            "Gelu",
            vec![string("approximate", if *tanh { "tanh" } else { "none" })],
        ),
        Activation::Erf => ("Erf", vec![]),
        Activation::Silu => {
            let sig = format!("{node}/sigmoid");
            pre.push(NodeProto {
                input: inputs.clone(),
                output: vec![sig.clone()],
                name: Some(sig.clone()),
                op_type: Some("Sigmoid".into()),
                ..Default::default()
            });
            inputs.push(sig);
            ("Mul", vec![])
        }
    }
}

/// Slice (opset 10+: starts, ends, axes, steps as inputs).
pub(super) fn slice(s: &Slice, node: &str, inputs: &mut Vec<String>, inits: &mut Vec<TensorProto>) {
    let end = s.start + (s.len - 1) * s.step + 1;
    for (suffix, v) in [
        ("starts", s.start as i64),
        ("ends", end as i64),
        ("axes", s.axis as i64 + 1),
        ("steps", s.step as i64),
    ] {
        let n = format!("{node}.{suffix}");
        inits.push(i64s(&n, vec![v]));
        inputs.push(n);
    }
}

/// Pad (opset 11+: pads and the constant value as inputs; the batch axis is not padded).
pub(super) fn pad(p: &Pad, node: &str, inputs: &mut Vec<String>, inits: &mut Vec<TensorProto>) {
    let pads: Vec<i64> = std::iter::once(0)
        .chain(p.begin.iter().map(|&v| v as i64))
        .chain(std::iter::once(0))
        .chain(p.end.iter().map(|&v| v as i64))
        .collect();
    let n = format!("{node}.pads");
    inits.push(i64s(&n, pads));
    inputs.push(n);
    let n = format!("{node}.value");
    inits.push(scalar(&n, p.value));
    inputs.push(n);
}
