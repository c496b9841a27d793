//! ONNX import of hostile models: every limit of [`ImportLimits`] and every check on weights is
//! an error naming what and where, raised before anything of the declared size is allocated.
//! (The table of these cases is in `docs/robustness.md`.)

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use effpath_ir::onnx::proto::attribute_proto::AttributeType;
use effpath_ir::onnx::proto::tensor_proto::DataType;
use effpath_ir::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, StringStringEntryProto, TensorProto,
    tensor_shape_proto,
};
use effpath_ir::onnx::{self, ImportLimits, export_model, tensor};
use effpath_ir::{AttributeIssue, IrError, NetworkBuilder, NodeIssue};
use ndarray::{Array2, ArrayD, IxDyn};

/// A one-layer network `x (4) → Dense(3)` as an ONNX model, to be spoiled by each test.
fn model() -> ModelProto {
    let mut b = NetworkBuilder::new(vec![4]);
    let x = b.input();
    let w = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32 / 10.0);
    let y = b.dense(x, w, None).unwrap();
    export_model(&b.finish(y).unwrap())
}

fn graph(m: &mut ModelProto) -> &mut GraphProto {
    m.graph.as_mut().unwrap()
}

fn import(m: &ModelProto) -> Result<effpath_ir::Network, IrError> {
    onnx::from_bytes(&tensor::encode_model(m))
}

fn i64_tensor(name: &str, dims: &[i64], values: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(DataType::Int64 as i32),
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(format!("{op}_{}", outputs.first().unwrap_or(&""))),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

/// Prepends constant-folding nodes whose result feeds nothing the output needs (they are still
/// evaluated at import).
fn with_const_nodes(nodes: Vec<NodeProto>, inits: Vec<TensorProto>) -> ModelProto {
    let mut m = model();
    let g = graph(&mut m);
    g.initializer.extend(inits);
    let mut all = nodes;
    all.append(&mut g.node);
    g.node = all;
    m
}

fn message(r: Result<effpath_ir::Network, IrError>) -> String {
    r.expect_err("the import must fail").to_string()
}

/// The node and typed issue of an import that must fail on an ONNX node.
fn node_issue(r: Result<effpath_ir::Network, IrError>) -> (String, NodeIssue) {
    match r.expect_err("the import must fail") {
        IrError::OnnxNode { node, issue, .. } => (node, *issue),
        other => panic!("expected an ONNX node error, got {other}"),
    }
}

#[test]
fn the_unspoiled_model_imports() {
    assert!(import(&model()).is_ok());
}

#[test]
fn too_many_nodes() {
    let bytes = tensor::encode_model(&model());
    let limits = ImportLimits {
        max_nodes: 0,
        ..ImportLimits::default()
    };
    let err = onnx::from_bytes_with(&bytes, &limits)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("1 nodes exceed the import limit of 0"),
        "{err}"
    );
}

#[test]
fn initializer_rank_above_the_limit() {
    let dims = vec![1i64; 17];
    let t = TensorProto {
        name: Some("deep".into()),
        dims,
        data_type: Some(DataType::Float as i32),
        float_data: vec![1.0],
        ..Default::default()
    };
    let err = message(import(&with_const_nodes(vec![], vec![t])));
    assert!(
        err.contains("`deep`") && err.contains("rank 17 exceeds the import limit of 16"),
        "{err}"
    );
}

#[test]
fn graph_input_rank_above_the_limit() {
    let mut m = model();
    let g = graph(&mut m);
    let input = g.input.iter_mut().find(|i| i.name() == "input").unwrap();
    let Some(effpath_ir::onnx::proto::type_proto::Value::TensorType(t)) =
        input.r#type.as_mut().unwrap().value.as_mut()
    else {
        panic!("tensor input");
    };
    let dim = tensor_shape_proto::Dimension {
        value: Some(tensor_shape_proto::dimension::Value::DimValue(1)),
        ..Default::default()
    };
    t.shape
        .as_mut()
        .unwrap()
        .dim
        .extend(std::iter::repeat_n(dim, 16));
    let err = message(import(&m));
    assert!(
        err.contains("graph input") && err.contains("exceeds the import limit"),
        "{err}"
    );
}

#[test]
fn input_shape_whose_element_count_overflows() {
    let mut m = model();
    let g = graph(&mut m);
    let input = g.input.iter_mut().find(|i| i.name() == "input").unwrap();
    let Some(effpath_ir::onnx::proto::type_proto::Value::TensorType(t)) =
        input.r#type.as_mut().unwrap().value.as_mut()
    else {
        panic!("tensor input");
    };
    for d in [1i64 << 40, 1 << 40] {
        t.shape
            .as_mut()
            .unwrap()
            .dim
            .push(tensor_shape_proto::Dimension {
                value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
                ..Default::default()
            });
    }
    let err = message(import(&m));
    assert!(err.contains("too many elements"), "{err}");
}

#[test]
fn constant_of_shape_beyond_the_element_budget_fails_before_allocating() {
    // 2^40 elements (4 TiB of f32) declared by a 3-element shape tensor.
    let shape = i64_tensor("big_shape", &[3], &[1 << 20, 1 << 10, 1 << 10]);
    let n = node("ConstantOfShape", &["big_shape"], &["big"], vec![]);
    let start = Instant::now();
    let m = with_const_nodes(vec![n], vec![shape]);
    let err = message(import(&m));
    assert!(
        err.contains("ConstantOfShape") && err.contains("exceeds the import limit"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    let (node, issue) = node_issue(import(&m));
    assert_eq!(node, "ConstantOfShape_big");
    assert!(
        matches!(&issue, NodeIssue::Budget { what: "the constant", shape, .. }
            if *shape == [1 << 20, 1 << 10, 1 << 10]),
        "{issue:?}"
    );
}

#[test]
fn total_elements_of_constants_are_capped() {
    // Two ConstantOfShape of 600 elements each under a 1,000-element total.
    let shape = i64_tensor("s", &[1], &[600]);
    let nodes = vec![
        node("ConstantOfShape", &["s"], &["a"], vec![]),
        node("ConstantOfShape", &["s"], &["b"], vec![]),
    ];
    let m = with_const_nodes(nodes, vec![shape]);
    let limits = ImportLimits {
        max_total_elements: 1_000,
        ..ImportLimits::default()
    };
    let err = onnx::from_bytes_with(&tensor::encode_model(&m), &limits)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ConstantOfShape_b") && err.contains("import limit"),
        "{err}"
    );
    // The initializers count too: the model's 12 weights exceed a total of 10.
    let tiny = ImportLimits {
        max_total_elements: 10,
        ..ImportLimits::default()
    };
    let err = onnx::from_bytes_with(&tensor::encode_model(&model()), &tiny)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("12 elements exceed the import limit of 10"),
        "{err}"
    );
}

#[test]
fn broadcasting_blow_up_is_caught_before_allocating() {
    // (2^16, 1) + (1, 2^16): 2^32 elements from two 65,536-element constants.
    let shape_a = i64_tensor("sa", &[2], &[1 << 16, 1]);
    let shape_b = i64_tensor("sb", &[2], &[1, 1 << 16]);
    let nodes = vec![
        node("ConstantOfShape", &["sa"], &["a"], vec![]),
        node("ConstantOfShape", &["sb"], &["b"], vec![]),
        node("Add", &["a", "b"], &["ab"], vec![]),
    ];
    let m = with_const_nodes(nodes, vec![shape_a, shape_b]);
    let err = message(import(&m));
    assert!(
        err.contains("Add_ab") && err.contains("[65536, 65536]"),
        "{err}"
    );
    let (_, issue) = node_issue(import(&m));
    assert!(
        matches!(&issue, NodeIssue::Budget { what: "the result", shape, .. }
            if *shape == [1 << 16, 1 << 16]),
        "{issue:?}"
    );
}

#[test]
fn integer_overflow_in_folded_constants_is_an_error() {
    for (op, a, b) in [
        ("Add", i64::MAX, 1),
        ("Sub", i64::MIN, 1),
        ("Mul", 1 << 40, 1 << 40),
        ("Div", i64::MIN, -1),
    ] {
        let nodes = vec![node(op, &["p", "q"], &["r"], vec![])];
        let inits = vec![i64_tensor("p", &[1], &[a]), i64_tensor("q", &[1], &[b])];
        let m = with_const_nodes(nodes, inits);
        let err = message(import(&m));
        assert!(err.contains("integer overflow"), "{op}: {err}");
        let (_, issue) = node_issue(import(&m));
        assert!(
            matches!(&issue, NodeIssue::IntegerOverflow { op: o, lhs, rhs }
                if o == op && *lhs == a && *rhs == b),
            "{op}: {issue:?}"
        );
    }
    let nodes = vec![node("Div", &["p", "q"], &["r"], vec![])];
    let inits = vec![i64_tensor("p", &[1], &[5]), i64_tensor("q", &[1], &[0])];
    let m = with_const_nodes(nodes, inits);
    assert!(message(import(&m)).contains("division by zero"));
    assert!(matches!(
        node_issue(import(&m)).1,
        NodeIssue::DivisionByZero
    ));
}

fn spoil_weight(value: f32) -> String {
    let mut m = model();
    let g = graph(&mut m);
    let w = g
        .initializer
        .iter_mut()
        .find(|t| t.dims.len() == 2)
        .unwrap();
    let mut a = tensor::tensor_to_f32(w).unwrap();
    a[[1, 2]] = value;
    *w = tensor::f32_to_tensor(w.name(), &a);
    message(import(&m))
}

#[test]
fn non_finite_weights_are_rejected_naming_the_node() {
    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let err = spoil_weight(v);
        assert!(
            err.contains("weight")
                && err.contains("non-finite value at flat index 6")
                && err.contains("ONNX node"),
            "{v}: {err}"
        );
    }
}

#[test]
fn division_by_a_zero_constant_gives_a_non_finite_scale() {
    // y = dense(x) / c with c = [1, 0, 1]: an infinite per-channel scale.
    let mut m = model();
    let g = graph(&mut m);
    let out = g.output[0].name().to_owned();
    let c = tensor::f32_to_tensor(
        "c",
        &ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, 0.0, 1.0]).unwrap(),
    );
    g.initializer.push(c);
    g.node.push(node("Div", &[&out, "c"], &["divided"], vec![]));
    g.output[0].name = Some("divided".into());
    let err = message(import(&m));
    assert!(err.contains("non-finite"), "{err}");
}

#[test]
fn negative_batch_norm_variance_is_rejected() {
    let mut b = NetworkBuilder::new(vec![2, 2, 2]);
    let x = b.input();
    let bn = effpath_ir::BatchNorm {
        gamma: ndarray::arr1(&[1.0, 1.0]),
        beta: ndarray::arr1(&[0.0, 0.0]),
        mean: ndarray::arr1(&[0.0, 0.0]),
        var: ndarray::arr1(&[1.0, -2.0]),
        epsilon: 1e-5,
    };
    let y = b.batch_norm(x, bn).unwrap();
    let bytes = onnx::to_bytes(&b.finish(y).unwrap());
    let err = onnx::from_bytes(&bytes).unwrap_err().to_string();
    assert!(
        err.contains("channel 1") && err.contains("not positive"),
        "{err}"
    );
}

#[test]
fn a_node_reading_a_later_output_is_an_error() {
    // Cycle-like wiring: the first node reads what the second produces.
    let mut m = model();
    let g = graph(&mut m);
    let out = g.output[0].name().to_owned();
    g.node
        .insert(0, node("Relu", &["later"], &["early"], vec![]));
    g.node.push(node("Relu", &[&out], &["later"], vec![]));
    let err = message(import(&m));
    assert!(
        err.contains("`later` is not produced by an earlier node"),
        "{err}"
    );
    let (node, issue) = node_issue(import(&m));
    assert_eq!(node, "Relu_early");
    assert!(
        matches!(&issue, NodeIssue::UnknownInput { input } if input == "later"),
        "{issue:?}"
    );
}

#[test]
fn many_duplicate_attributes_fail_fast() {
    let attr = AttributeProto {
        name: Some("alpha".into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(1.0),
        ..Default::default()
    };
    let mut n = node("Relu", &["input"], &["r"], vec![]);
    let mut attrs: Vec<AttributeProto> = (0..50_000)
        .map(|i| AttributeProto {
            name: Some(format!("a{i}")),
            ..attr.clone()
        })
        .collect();
    attrs.push(attr.clone());
    attrs.push(attr);
    n.attribute = attrs;
    let start = Instant::now();
    let (_, issue) = node_issue(import(&with_const_nodes(vec![n], vec![])));
    assert!(
        issue.to_string().contains("`alpha` is given twice"),
        "{issue}"
    );
    assert!(
        matches!(&issue, NodeIssue::Attribute(AttributeIssue::Repeated { name }) if name == "alpha"),
        "{issue:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn external_data_and_bad_metadata_are_errors() {
    let mut m = model();
    let w = graph(&mut m)
        .initializer
        .iter_mut()
        .find(|t| t.dims.len() == 2)
        .unwrap();
    w.raw_data = None;
    w.data_location = Some(1);
    let err = message(import(&m));
    assert!(err.contains("stored externally"), "{err}");

    let mut m = model();
    m.metadata_props.push(StringStringEntryProto {
        key: Some(onnx::NORMALIZATION_KEY.into()),
        value: Some("0.5,nan".into()),
    });
    assert!(message(import(&m)).contains("std > 0"));
}

#[test]
fn truncated_and_garbage_bytes_are_decode_errors() {
    let bytes = tensor::encode_model(&model());
    for len in [1, bytes.len() / 3, bytes.len() - 1] {
        match onnx::from_bytes(&bytes[..len]) {
            Err(
                IrError::OnnxDecode { .. }
                | IrError::OnnxNoGraph
                | IrError::Graph(_)
                | IrError::OnnxTensor { .. },
            ) => {}
            Err(e) => panic!("{len}: unexpected error kind {e}"),
            Ok(_) => panic!("{len}: a truncated model imported"),
        }
    }
}
