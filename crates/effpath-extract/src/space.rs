//! The path space of a network: which nodes are traced layers, and their element spaces.

use std::sync::Arc;

use effpath_algebra::{LayerSpace, PathSpace};
use effpath_ir::{Network, Op};

use crate::error::Result;

/// The traced layers of a network (ops with synapses: Dense, Conv2d, MaxPool2d, AvgPool2d,
/// GlobalAvgPool) in forward order, and the map from node index to layer index.
#[derive(Debug, Clone)]
pub struct NetworkSpace {
    space: Arc<PathSpace>,
    layer_of_node: Vec<Option<usize>>,
    node_of_layer: Vec<usize>,
}

impl NetworkSpace {
    /// Builds the path space of `net`, tagged with the network's fingerprint.
    ///
    /// ```
    /// let net = effpath_ir::zoo::lenet5(0);
    /// let s = effpath_extract::NetworkSpace::new(&net)?;
    /// let names: Vec<&str> = s.space().layers().iter().map(|l| l.name()).collect();
    /// assert_eq!(names, ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"]);
    /// assert_eq!(s.space().layers()[0].synapses(), 86_400);
    /// # Ok::<(), effpath_extract::ExtractError>(())
    /// ```
    pub fn new(net: &Network) -> Result<Self> {
        let mut layers = Vec::new();
        let mut layer_of_node = vec![None; net.nodes().len()];
        let mut node_of_layer = Vec::new();
        for (i, node) in net.nodes().iter().enumerate() {
            let input = net.shape(node.inputs[0]);
            let out = net.shape(effpath_ir::ValueId(i + 1));
            let name = node.name.clone();
            let layer = match &node.op {
                Op::Dense(d) => Some(LayerSpace::dense(name, d.weight.ncols(), d.weight.nrows())?),
                Op::Conv2d(c) => {
                    let (cout, _, kh, kw) = c.weight.dim();
                    Some(LayerSpace::conv2d(
                        name,
                        input[0],
                        cout,
                        c.groups,
                        [kh, kw],
                        [out[1], out[2]],
                    )?)
                }
                Op::MaxPool2d(w) => Some(LayerSpace::max_pool2d(
                    name,
                    out[0],
                    w.kernel,
                    [out[1], out[2]],
                )?),
                Op::AvgPool2d(a) => Some(LayerSpace::avg_pool2d(
                    name,
                    out[0],
                    a.window.kernel,
                    [out[1], out[2]],
                )?),
                Op::GlobalAvgPool => Some(LayerSpace::global_avg_pool(
                    name,
                    [input[0], input[1], input[2]],
                )?),
                Op::Relu
                | Op::Lrn(_)
                | Op::Flatten
                | Op::Reshape(_)
                | Op::Transpose(_)
                | Op::Add
                | Op::BatchNorm(_)
                | Op::Concat(_)
                | Op::Softmax
                | Op::LogSoftmax
                | Op::Activation(_)
                | Op::Binary(_)
                | Op::Slice(_)
                | Op::Pad(_) => None,
            };
            if let Some(l) = layer {
                layer_of_node[i] = Some(layers.len());
                node_of_layer.push(i);
                layers.push(l);
            }
        }
        let space = Arc::new(PathSpace::new(net.fingerprint(), layers)?);
        Ok(NetworkSpace {
            space,
            layer_of_node,
            node_of_layer,
        })
    }

    /// The path space (shared by every path of this network).
    pub fn space(&self) -> &Arc<PathSpace> {
        &self.space
    }

    /// The traced layer of node `node`, if it is one.
    pub fn layer_of_node(&self, node: usize) -> Option<usize> {
        self.layer_of_node.get(node).copied().flatten()
    }

    /// The node of traced layer `layer`.
    pub fn node_of_layer(&self, layer: usize) -> Option<usize> {
        self.node_of_layer.get(layer).copied()
    }
}
