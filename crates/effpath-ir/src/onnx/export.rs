//! IR → ONNX (opset 11, or the lowest opset that has every op): every op maps to one
//! standard ONNX node (SiLU to `Sigmoid` + `Mul`).

use ndarray::ArrayD;

use super::proto::attribute_proto::AttributeType;
use super::proto::tensor_proto::DataType;
use super::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, tensor_shape_proto, type_proto,
};
use super::tensor::{f32_to_tensor, i64_to_tensor};
use crate::graph::{Network, ValueId};
use crate::op::{Op, Window2d};

/// The opset written by [`export_model`] unless the network needs a newer one (HardSwish:
/// 14, Gelu: 20).
pub const EXPORT_OPSET: i64 = 11;

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

fn ints(name: &str, v: &[usize]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.iter().map(|&x| x as i64).collect(),
        ..Default::default()
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

fn window_attrs(w: &Window2d) -> Vec<AttributeProto> {
    vec![
        ints("kernel_shape", &w.kernel),
        ints("strides", &w.stride),
        ints(
            "pads",
            &[
                w.pads_begin[0],
                w.pads_begin[1],
                w.pads_end[0],
                w.pads_end[1],
            ],
        ),
    ]
}

fn value_info(name: &str, per_sample: &[usize]) -> ValueInfoProto {
    let batch = tensor_shape_proto::Dimension {
        value: Some(tensor_shape_proto::dimension::Value::DimParam("N".into())),
        ..Default::default()
    };
    let dims =
        std::iter::once(batch).chain(per_sample.iter().map(|&d| tensor_shape_proto::Dimension {
            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
            ..Default::default()
        }));
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto {
                    dim: dims.collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Converts a network to an ONNX model (opset 11 (`EXPORT_OPSET`) or newer when an op needs it,
/// batch axis named `N`). Tensor names are the
/// node names; initializers are `<node>.weight`, `<node>.bias`, ….
pub fn export_model(net: &Network) -> ModelProto {
    let name_of = |v: ValueId| -> String {
        match net.producer(v) {
            None => net.input_name().to_string(),
            Some(n) => n.name.clone(),
        }
    };
    let mut nodes = Vec::new();
    let mut inits: Vec<TensorProto> = Vec::new();
    for node in net.nodes() {
        let mut inputs: Vec<String> = node.inputs.iter().map(|&v| name_of(v)).collect();
        let mut init = |suffix: &str, t: ArrayD<f32>, inputs: &mut Vec<String>| {
            let n = format!("{}.{suffix}", node.name);
            inits.push(f32_to_tensor(&n, &t));
            inputs.push(n);
        };
        let (op_type, attrs): (&str, Vec<AttributeProto>) = match &node.op {
            Op::Dense(d) => {
                init("weight", d.weight.clone().into_dyn(), &mut inputs);
                if let Some(b) = &d.bias {
                    init("bias", b.clone().into_dyn(), &mut inputs);
                }
                ("Gemm", vec![int("transB", 1)])
            }
            Op::Conv2d(c) => {
                init("weight", c.weight.clone().into_dyn(), &mut inputs);
                if let Some(b) = &c.bias {
                    init("bias", b.clone().into_dyn(), &mut inputs);
                }
                let mut a = window_attrs(&c.window);
                a.push(ints("dilations", &c.dilation));
                a.push(int("group", c.groups as i64));
                ("Conv", a)
            }
            Op::MaxPool2d(w) => ("MaxPool", window_attrs(w)),
            Op::AvgPool2d(p) => {
                let mut a = window_attrs(&p.window);
                a.push(int("count_include_pad", p.count_include_pad as i64));
                ("AveragePool", a)
            }
            Op::GlobalAvgPool => ("GlobalAveragePool", vec![]),
            Op::Relu => ("Relu", vec![]),
            Op::Lrn(l) => (
                "LRN",
                vec![
                    int("size", l.size as i64),
                    float("alpha", l.alpha),
                    float("beta", l.beta),
                    float("bias", l.bias),
                ],
            ),
            Op::Flatten => ("Flatten", vec![int("axis", 1)]),
            Op::Reshape(shape) => {
                let n = format!("{}.shape", node.name);
                let target: Vec<i64> = std::iter::once(-1)
                    .chain(shape.iter().map(|&d| d as i64))
                    .collect();
                let len = target.len();
                let arr = ArrayD::from_shape_vec(ndarray::IxDyn(&[len]), target)
                    .expect("1-D shape vector");
                inits.push(i64_to_tensor(&n, &arr));
                inputs.push(n);
                ("Reshape", vec![])
            }
            Op::Transpose(perm) => {
                let full: Vec<usize> = std::iter::once(0)
                    .chain(perm.iter().map(|p| p + 1))
                    .collect();
                ("Transpose", vec![ints("perm", &full)])
            }
            Op::Add => (if inputs.len() == 2 { "Add" } else { "Sum" }, vec![]),
            Op::BatchNorm(b) => {
                for (s, v) in [
                    ("scale", &b.gamma),
                    ("bias", &b.beta),
                    ("mean", &b.mean),
                    ("var", &b.var),
                ] {
                    init(s, v.clone().into_dyn(), &mut inputs);
                }
                ("BatchNormalization", vec![float("epsilon", b.epsilon)])
            }
            Op::Concat(axis) => ("Concat", vec![int("axis", *axis as i64 + 1)]),
            Op::Softmax => ("Softmax", vec![int("axis", 1)]),
            Op::LogSoftmax => ("LogSoftmax", vec![int("axis", 1)]),
            Op::Activation(act) => {
                let rank = net.shape(node.inputs[0]).len();
                super::export_ops::activation(
                    act,
                    &node.name,
                    rank,
                    &mut inputs,
                    &mut inits,
                    &mut nodes,
                )
            }
            Op::Binary(b) => (b.onnx_name(), vec![]),
            Op::Slice(s) => {
                super::export_ops::slice(s, &node.name, &mut inputs, &mut inits);
                ("Slice", vec![])
            }
            Op::Pad(p) => {
                super::export_ops::pad(p, &node.name, &mut inputs, &mut inits);
                ("Pad", vec![string("mode", "constant")])
            }
        };
        nodes.push(NodeProto {
            input: inputs,
            output: vec![node.name.clone()],
            name: Some(node.name.clone()),
            op_type: Some(op_type.into()),
            attribute: attrs,
            ..Default::default()
        });
    }
    let graph = GraphProto {
        node: nodes,
        name: Some("effpath".into()),
        initializer: inits,
        input: vec![value_info(net.input_name(), net.input_shape())],
        output: vec![value_info(&name_of(net.output()), net.shape(net.output()))],
        ..Default::default()
    };
    let opset = super::export_ops::opset_for(net.nodes().iter().map(|n| &n.op));
    ModelProto {
        ir_version: Some(super::export_ops::ir_version_for(opset)),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        producer_name: Some("effpath".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        metadata_props: net
            .input_normalization()
            .map(|[m, s]| super::proto::StringStringEntryProto {
                key: Some(super::NORMALIZATION_KEY.into()),
                value: Some(format!("{m:?},{s:?}")),
            })
            .into_iter()
            .collect(),
        ..Default::default()
    }
}
