//! ONNX → IR: graph-level import (inputs, initializers, topological walk, outputs).

use std::collections::HashMap;

use super::ImportLimits;
use super::attr::{NodeAttributes, node_display_name};
use super::fold::{self, Const};
use super::proto::type_proto;
use super::proto::{GraphProto, ModelProto, NodeProto, tensor_shape_proto};
use super::tensor::{tensor_dims, tensor_element_count, tensor_to_f32};
use crate::builder::NetworkBuilder;
use crate::error::{
    GraphIssue, IrError, NodeIssue, NodeUnsupported, NonFiniteTensor, Result, ShapeIssue,
    TensorIssue, UnsupportedIssue,
};
use crate::graph::{Network, ValueId};
use crate::op::Op;

/// What an ONNX tensor name stands for during import.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    /// A folded constant (initializer, `Constant`, folded subgraph).
    Const(Const),
    /// A tensor computed by the network.
    Value(ValueId),
    /// A second (or later) graph input: effpath networks have exactly one input.
    ExtraInput,
    /// `x > threshold` of a computed tensor: only read by a `Where` that it turns into an
    /// activation (PyTorch's `softplus` threshold as the default exporter writes it).
    Greater {
        /// The compared tensor.
        x: ValueId,
        /// The constant threshold.
        threshold: f32,
    },
}

/// Import state: the builder, what every ONNX name means, and how often each is read.
pub(super) struct Importer<'m> {
    pub(super) builder: NetworkBuilder,
    pub(super) env: HashMap<&'m str, Entry>,
    pub(super) uses: HashMap<&'m str, usize>,
    /// The declared batch size of the input (1 when symbolic), used to fold `Shape`.
    pub(super) batch: usize,
    pub(super) opset: i64,
    names: HashMap<String, usize>,
    /// The limits of this import.
    pub(super) limits: ImportLimits,
    /// Elements of all constants materialised so far (see [`ImportLimits::max_total_elements`]).
    elements: usize,
}

impl<'m> Importer<'m> {
    /// A unique IR node name for an ONNX node.
    pub(super) fn unique_name(&mut self, node: &NodeProto) -> String {
        let base = node_display_name(node);
        let n = self.names.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { base } else { format!("{base}#{n}") }
    }

    /// The input `i` of a node as an [`Entry`] (`None` for an absent optional input).
    pub(super) fn input(
        &self,
        a: &NodeAttributes,
        node: &NodeProto,
        i: usize,
    ) -> Result<Option<&Entry>> {
        match node.input.get(i).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(name) => match self.env.get(name) {
                Some(e) => Ok(Some(e)),
                None => Err(a.error(NodeIssue::UnknownInput {
                    input: name.to_owned(),
                })),
            },
        }
    }

    /// Number of readers of an ONNX tensor (graph outputs count as readers).
    pub(super) fn readers(&self, name: &str) -> usize {
        self.uses.get(name).copied().unwrap_or(0)
    }

    /// Elements still allowed for new constants: the smaller of the per-constant limit and
    /// what is left of the total.
    pub(super) fn element_budget(&self) -> usize {
        self.limits
            .max_const_elements
            .min(self.limits.max_total_elements.saturating_sub(self.elements))
    }

    /// Counts a materialised constant against the limits.
    fn charge(&mut self, a: &NodeAttributes, c: &Const) -> Result<()> {
        check_rank(c.shape(), &self.limits, || {
            a.error(NodeIssue::ConstantRank {
                rank: c.shape().len(),
                limit: self.limits.max_rank,
            })
        })?;
        let n = c.shape().iter().product::<usize>();
        if n > self.element_budget() {
            return Err(a.error(NodeIssue::ConstantElements {
                elements: n,
                per_constant: self.limits.max_const_elements,
                total: self.limits.max_total_elements,
                used: self.elements,
            }));
        }
        self.elements += n;
        Ok(())
    }
}

/// Errors unless `shape` has at most `limits.max_rank` axes.
fn check_rank(shape: &[usize], limits: &ImportLimits, err: impl FnOnce() -> IrError) -> Result<()> {
    if shape.len() > limits.max_rank {
        return Err(err());
    }
    Ok(())
}

/// Per-sample shape and batch size of the single graph input, and an error to report after
/// the nodes (so that an unsupported op is named first) when its element type is not FLOAT.
fn input_shape(graph: &GraphProto, name: &str) -> Result<(Vec<usize>, usize, Option<IrError>)> {
    let bad = |issue: UnsupportedIssue| IrError::Unsupported {
        node: name.to_string(),
        op: "graph input".into(),
        issue: Box::new(issue),
    };
    let vi = graph
        .input
        .iter()
        .find(|v| v.name() == name)
        .ok_or_else(|| bad(UnsupportedIssue::MissingInput))?;
    let tensor = match vi.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => t,
        _ => return Err(bad(UnsupportedIssue::NotATensor)),
    };
    let type_error = (tensor.elem_type() != super::proto::tensor_proto::DataType::Float as i32)
        .then(|| {
            bad(UnsupportedIssue::InputType {
                elem_type: super::tensor::data_type_name(tensor.elem_type()),
            })
        });
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| s.dim.as_slice())
        .unwrap_or_default();
    if dims.is_empty() {
        return Err(bad(UnsupportedIssue::InputShapeUnknown));
    }
    let mut batch = 1;
    let mut shape = Vec::new();
    for (i, d) in dims.iter().enumerate() {
        match (&d.value, i) {
            (Some(tensor_shape_proto::dimension::Value::DimValue(v)), _) if *v > 0 => {
                if i == 0 {
                    batch = *v as usize;
                } else {
                    shape.push(*v as usize);
                }
            }
            (_, 0) => {}
            _ => {
                return Err(bad(UnsupportedIssue::SymbolicAxis { axis: i }));
            }
        }
    }
    if shape
        .iter()
        .try_fold(batch, |acc: usize, &d| acc.checked_mul(d))
        .is_none()
    {
        return Err(bad(UnsupportedIssue::InputSize { shape, batch }));
    }
    Ok((shape, batch, type_error))
}

/// Imports a decoded ONNX model, with the default [`ImportLimits`].
pub fn import_model(model: &ModelProto) -> Result<Network> {
    import_model_with(model, &ImportLimits::default())
}

/// Imports a decoded ONNX model within `limits`.
///
/// Besides the limits, weights are checked: every parameter of the imported network (weights,
/// biases, batch-norm statistics, LRN constants) must be finite, and batch-norm variances
/// plus epsilon positive; otherwise the error names the node and the parameter.
pub fn import_model_with(model: &ModelProto, limits: &ImportLimits) -> Result<Network> {
    let graph = model.graph.as_ref().ok_or(IrError::OnnxNoGraph)?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| matches!(o.domain(), "" | "ai.onnx"))
        .map_or(1, |o| o.version());
    if graph.node.len() > limits.max_nodes {
        return Err(GraphIssue::TooManyNodes {
            nodes: graph.node.len(),
            limit: limits.max_nodes,
        }
        .into());
    }
    let mut env: HashMap<&str, Entry> = HashMap::new();
    let mut elements = 0usize;
    for init in &graph.initializer {
        let limit_error = |issue: TensorIssue| IrError::OnnxTensor {
            name: init.name().to_owned(),
            issue: Box::new(issue),
        };
        let rank = tensor_dims(init)?.len();
        if rank > limits.max_rank {
            return Err(limit_error(TensorIssue::Rank {
                rank,
                limit: limits.max_rank,
            }));
        }
        let n = tensor_element_count(init)?;
        if n > limits.max_total_elements.saturating_sub(elements) {
            return Err(limit_error(TensorIssue::Elements {
                elements: n,
                limit: limits.max_total_elements,
                used: elements,
            }));
        }
        elements += n;
        let c = if matches!(init.data_type(), 6 | 7) {
            Const::I(super::tensor::tensor_to_i64(init)?)
        } else {
            Const::F(tensor_to_f32(init)?)
        };
        env.insert(init.name(), c_entry(c));
    }
    let real: Vec<&str> = graph
        .input
        .iter()
        .map(|v| v.name())
        .filter(|n| !env.contains_key(n))
        .collect();
    let primary = *real.first().ok_or(GraphIssue::NoInput)?;
    for extra in &real[1..] {
        env.insert(extra, Entry::ExtraInput);
    }
    let (shape, batch, type_error) = input_shape(graph, primary)?;
    // The rank of the input includes its batch axis.
    check_rank(&[&[1][..], &shape].concat(), limits, || {
        IrError::Unsupported {
            node: primary.to_owned(),
            op: "graph input".into(),
            issue: Box::new(UnsupportedIssue::Rank {
                rank: shape.len() + 1,
                limit: limits.max_rank,
            }),
        }
    })?;
    env.insert(primary, Entry::Value(ValueId::INPUT));
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for node in &graph.node {
        for i in node.input.iter().filter(|i| !i.is_empty()) {
            *uses.entry(i.as_str()).or_default() += 1;
        }
    }
    for o in &graph.output {
        *uses.entry(o.name()).or_default() += 1;
    }
    let mut imp = Importer {
        builder: NetworkBuilder::new(shape).with_input_name(primary),
        env,
        uses,
        batch,
        opset,
        names: HashMap::new(),
        limits: *limits,
        elements,
    };
    for node in &graph.node {
        import_node(&mut imp, node)?;
    }
    if let Some(e) = type_error {
        return Err(e);
    }
    let [out] = graph.output.as_slice() else {
        return Err(IrError::Unsupported {
            node: "graph".into(),
            op: "outputs".into(),
            issue: Box::new(UnsupportedIssue::Outputs {
                outputs: graph.output.len(),
            }),
        });
    };
    let norm = input_normalization(model)?;
    match imp.env.get(out.name()) {
        Some(Entry::Value(v)) => {
            let net = imp.builder.finish(*v)?.with_input_normalization(norm)?;
            check_parameters(&net)?;
            Ok(net)
        }
        Some(_) => Err(GraphIssue::ConstantOutput {
            output: out.name().to_owned(),
        }
        .into()),
        None => Err(GraphIssue::UnproducedOutput {
            output: out.name().to_owned(),
        }
        .into()),
    }
}

/// The `effpath.input_normalization` metadata (`"mean,std"`), if present.
fn input_normalization(model: &ModelProto) -> Result<Option<[f32; 2]>> {
    let Some(entry) = model
        .metadata_props
        .iter()
        .find(|p| p.key() == super::NORMALIZATION_KEY)
    else {
        return Ok(None);
    };
    let bad = || IrError::OnnxMetadata {
        key: super::NORMALIZATION_KEY,
        value: entry.value().to_owned(),
        expected: "mean,std",
    };
    let mut parts = entry.value().split(',').map(|p| p.trim().parse::<f32>());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(m)), Some(Ok(s)), None) => Ok(Some([m, s])),
        _ => Err(bad()),
    }
}

fn c_entry(c: Const) -> Entry {
    Entry::Const(c)
}

/// Imports one node: folds it when all inputs are constant, else maps it to IR ops.
fn import_node<'m>(imp: &mut Importer<'m>, node: &'m NodeProto) -> Result<()> {
    let a = NodeAttributes::new(node)?;
    if !matches!(node.domain(), "" | "ai.onnx") {
        return Err(a.error(NodeUnsupported::Domain {
            domain: node.domain().to_owned(),
        }));
    }
    let mut entries = Vec::with_capacity(node.input.len());
    for i in 0..node.input.len() {
        entries.push(imp.input(&a, node, i)?.cloned());
    }
    if let Some(i) = entries
        .iter()
        .position(|e| matches!(e, Some(Entry::ExtraInput)))
    {
        return Err(a.error(NodeIssue::SecondGraphInput {
            input: node.input[i].clone(),
        }));
    }
    let all_const = entries
        .iter()
        .all(|e| !matches!(e, Some(Entry::Value(_) | Entry::Greater { .. })));
    let outputs: Vec<Entry> = if node.op_type() == "Split" && !all_const {
        super::ops_ext::split(imp, &a, node, &entries)?
    } else if node.op_type() == "Shape" {
        vec![shape_of(imp, &a, entries.first().cloned().flatten())?]
    } else if all_const && fold::is_foldable(node.op_type()) {
        let consts: Vec<Option<&Const>> = entries
            .iter()
            .map(|e| match e {
                Some(Entry::Const(c)) => Some(c),
                _ => None,
            })
            .collect();
        let budget = imp.element_budget();
        let folded = fold::fold(&a, &consts, budget)?;
        for c in &folded {
            imp.charge(&a, c)?;
        }
        folded.into_iter().map(c_entry).collect()
    } else {
        vec![super::ops::import_op(imp, &a, node, &entries)?]
    };
    a.reject_unconsumed()?;
    for (i, name) in node.output.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        match outputs.get(i) {
            Some(e) => {
                imp.env.insert(name.as_str(), e.clone());
            }
            None if imp.readers(name) == 0 => {}
            None => {
                return Err(a.error(NodeUnsupported::TrainingOutput {
                    index: i,
                    output: name.clone(),
                }));
            }
        }
    }
    Ok(())
}

/// `Shape` of a value (known at import: batch from the declared input) or of a constant.
fn shape_of(imp: &Importer, a: &NodeAttributes, e: Option<Entry>) -> Result<Entry> {
    let start = a.get_int("start")?;
    let end = a.get_int("end")?;
    let dims: Vec<i64> = match e {
        Some(Entry::Const(c)) => c.shape().iter().map(|&d| d as i64).collect(),
        Some(Entry::Value(v)) => {
            let per = imp.builder.shape(v).ok_or_else(|| {
                a.error(NodeIssue::Internal {
                    step: "the input's shape",
                })
            })?;
            std::iter::once(imp.batch as i64)
                .chain(per.iter().map(|&d| d as i64))
                .collect()
        }
        _ => {
            return Err(a.error(NodeIssue::MissingInput {
                index: 0,
                what: None,
            }));
        }
    };
    let clamp = |v: i64| {
        let r = dims.len() as i64;
        (if v < 0 { v + r } else { v }).clamp(0, r) as usize
    };
    let (from, to) = (
        clamp(start.unwrap_or(0)),
        clamp(end.unwrap_or(dims.len() as i64)),
    );
    let dims = dims[from..to.max(from)].to_vec();
    Ok(Entry::Const(Const::I(
        ndarray::Array1::from(dims).into_dyn(),
    )))
}

/// Rejects non-finite parameters (and batch norms whose variance + epsilon is not positive):
/// paths through NaN or infinite weights mean nothing, so they are an import error naming the
/// node and the parameter rather than NaN activations later.
fn check_parameters(net: &Network) -> Result<()> {
    for node in net.nodes() {
        let bad = |param: &'static str, index: usize| IrError::NonFinite {
            tensor: NonFiniteTensor::Parameter {
                node: node.name.clone(),
                op: node.op.kind(),
                param,
            },
            index,
        };
        let check = |param: &'static str, values: &mut dyn Iterator<Item = &f32>| {
            for (i, v) in values.enumerate() {
                if !v.is_finite() {
                    return Err(bad(param, i));
                }
            }
            Ok(())
        };
        match &node.op {
            Op::Dense(d) => {
                check("weight", &mut d.weight.iter())?;
                if let Some(b) = &d.bias {
                    check("bias", &mut b.iter())?;
                }
            }
            Op::Conv2d(c) => {
                check("weight", &mut c.weight.iter())?;
                if let Some(b) = &c.bias {
                    check("bias", &mut b.iter())?;
                }
            }
            Op::BatchNorm(b) => {
                check("scale", &mut b.gamma.iter())?;
                check("bias", &mut b.beta.iter())?;
                check("mean", &mut b.mean.iter())?;
                check("variance", &mut b.var.iter())?;
                check("epsilon", &mut std::iter::once(&b.epsilon))?;
                if let Some(c) = b
                    .var
                    .iter()
                    .position(|&v| f64::from(v) + f64::from(b.epsilon) <= 0.0)
                {
                    return Err(IrError::Shape {
                        node: node.name.clone(),
                        op: "BatchNorm",
                        issue: Box::new(ShapeIssue::Variance {
                            channel: c,
                            variance: b.var[c],
                            epsilon: b.epsilon,
                        }),
                    });
                }
                let (scale, shift) = b.affine();
                check("scale / sqrt(variance + epsilon)", &mut scale.iter())?;
                check("folded shift", &mut shift.iter())?;
            }
            Op::Lrn(l) => {
                check("alpha, beta, bias", &mut [l.alpha, l.beta, l.bias].iter())?;
            }
            Op::MaxPool2d(_)
            | Op::AvgPool2d(_)
            | Op::GlobalAvgPool
            | Op::Relu
            | Op::Flatten
            | Op::Reshape(_)
            | Op::Transpose(_)
            | Op::Add
            | Op::Concat(_)
            | Op::Softmax
            | Op::LogSoftmax
            | Op::Binary(_)
            | Op::Slice(_) => {}
            Op::Activation(a) => check("parameters", &mut a.params().iter())?,
            Op::Pad(p) => check("padding value", &mut std::iter::once(&p.value))?,
        }
    }
    Ok(())
}
