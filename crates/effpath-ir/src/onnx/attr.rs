//! Typed access to the attributes of an ONNX node, with errors that name the node, its op and
//! the attribute, and bookkeeping of which attributes were read so that an importer can reject
//! the ones it does not understand.

use std::cell::Cell;

use super::proto::attribute_proto::AttributeType;
use super::proto::{AttributeProto, NodeProto, TensorProto};
use crate::error::{AttributeIssue, IrError, NodeIssue, Result};

/// The name used for a node in messages: its name, else its first output, else `<unnamed>`.
pub fn node_display_name(node: &NodeProto) -> String {
    let name = node.name();
    if !name.is_empty() {
        return name.to_owned();
    }
    match node.output.iter().find(|o| !o.is_empty()) {
        Some(output) => output.clone(),
        None => "<unnamed>".to_owned(),
    }
}

/// The attributes of one node, with typed getters that remember what was read.
///
/// Each getter returns `Ok(None)` when the attribute is absent, the value when it is present
/// with the expected type, and an [`IrError::OnnxNode`] otherwise.
#[derive(Debug)]
pub struct NodeAttributes<'a> {
    node: String,
    op_type: String,
    attrs: &'a [AttributeProto],
    used: Vec<Cell<bool>>,
}

impl<'a> NodeAttributes<'a> {
    /// Wraps the attributes of `node`; fails on an unnamed or duplicated attribute.
    pub fn new(node: &'a NodeProto) -> Result<Self> {
        let this = Self {
            node: node_display_name(node),
            op_type: node.op_type().to_owned(),
            attrs: &node.attribute,
            used: node.attribute.iter().map(|_| Cell::new(false)).collect(),
        };
        let mut seen = std::collections::HashSet::with_capacity(node.attribute.len());
        for (i, a) in node.attribute.iter().enumerate() {
            if a.name().is_empty() {
                return Err(this.error(AttributeIssue::Unnamed { index: i }));
            }
            if !seen.insert(a.name()) {
                return Err(this.error(AttributeIssue::Repeated {
                    name: a.name().to_owned(),
                }));
            }
        }
        Ok(this)
    }

    /// The node's name as used in messages (see [`node_display_name`]).
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// The node's op type, e.g. `Conv`.
    pub fn op_type(&self) -> &str {
        &self.op_type
    }

    /// An [`IrError::OnnxNode`] about this node.
    pub fn error(&self, issue: impl Into<NodeIssue>) -> IrError {
        IrError::OnnxNode {
            node: self.node.clone(),
            op_type: self.op_type.clone(),
            issue: Box::new(issue.into()),
        }
    }

    /// Whether the attribute is present (does not count as reading it).
    pub fn contains(&self, name: &str) -> bool {
        self.attrs.iter().any(|a| a.name() == name)
    }

    /// Finds `name`, marks it read and checks its type. `has_value` tells, for an attribute
    /// without a `type` field (old producers), whether the expected value field is set.
    fn find(
        &self,
        name: &str,
        expected: AttributeType,
        has_value: impl Fn(&AttributeProto) -> bool,
    ) -> Result<Option<&'a AttributeProto>> {
        let Some(i) = self.attrs.iter().position(|a| a.name() == name) else {
            return Ok(None);
        };
        let a = &self.attrs[i];
        if let Some(used) = self.used.get(i) {
            used.set(true);
        }
        if !a.ref_attr_name().is_empty() {
            return Err(self.error(AttributeIssue::Reference {
                name: name.to_owned(),
                target: a.ref_attr_name().to_owned(),
            }));
        }
        let ty = a.r#type.unwrap_or(AttributeType::Undefined as i32);
        let ok = if ty == AttributeType::Undefined as i32 {
            has_value(a)
        } else {
            ty == expected as i32
        };
        if !ok {
            return Err(self.error(AttributeIssue::Type {
                name: name.to_owned(),
                found: ty,
                expected: expected.as_str_name(),
            }));
        }
        Ok(Some(a))
    }

    /// An `INT` attribute.
    pub fn get_int(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .find(name, AttributeType::Int, |a| a.i.is_some())?
            .map(AttributeProto::i))
    }

    /// An `INTS` attribute.
    pub fn get_ints(&self, name: &str) -> Result<Option<&'a [i64]>> {
        Ok(self
            .find(name, AttributeType::Ints, |a| !a.ints.is_empty())?
            .map(|a| a.ints.as_slice()))
    }

    /// A `FLOAT` attribute.
    pub fn get_float(&self, name: &str) -> Result<Option<f32>> {
        Ok(self
            .find(name, AttributeType::Float, |a| a.f.is_some())?
            .map(AttributeProto::f))
    }

    /// A `FLOATS` attribute.
    pub fn get_floats(&self, name: &str) -> Result<Option<&'a [f32]>> {
        Ok(self
            .find(name, AttributeType::Floats, |a| !a.floats.is_empty())?
            .map(|a| a.floats.as_slice()))
    }

    /// A `STRING` attribute, which must be valid UTF-8.
    pub fn get_string(&self, name: &str) -> Result<Option<&'a str>> {
        match self.find(name, AttributeType::String, |a| a.s.is_some())? {
            None => Ok(None),
            Some(a) => self
                .utf8(name, a.s.as_deref().unwrap_or_default())
                .map(Some),
        }
    }

    /// A `STRINGS` attribute, each of which must be valid UTF-8.
    pub fn get_strings(&self, name: &str) -> Result<Option<Vec<&'a str>>> {
        match self.find(name, AttributeType::Strings, |a| !a.strings.is_empty())? {
            None => Ok(None),
            Some(a) => a
                .strings
                .iter()
                .map(|s| self.utf8(name, s))
                .collect::<Result<_>>()
                .map(Some),
        }
    }

    /// A `TENSOR` attribute (e.g. the `value` of `Constant`).
    pub fn get_tensor(&self, name: &str) -> Result<Option<&'a TensorProto>> {
        match self.find(name, AttributeType::Tensor, |a| a.t.is_some())? {
            None => Ok(None),
            Some(a) => match &a.t {
                Some(t) => Ok(Some(t)),
                None => Err(self.error(AttributeIssue::NoTensor {
                    name: name.to_owned(),
                })),
            },
        }
    }

    fn utf8(&self, name: &str, bytes: &'a [u8]) -> Result<&'a str> {
        std::str::from_utf8(bytes).map_err(|source| {
            self.error(AttributeIssue::NotUtf8 {
                name: name.to_owned(),
                source,
            })
        })
    }

    /// Names of the attributes that no getter has read yet, in node order.
    pub fn unconsumed(&self) -> Vec<&'a str> {
        self.attrs
            .iter()
            .zip(&self.used)
            .filter(|(_, u)| !u.get())
            .map(|(a, _)| a.name())
            .collect()
    }

    /// Fails, listing them, if some attributes were never read (i.e. are not supported).
    pub fn reject_unconsumed(&self) -> Result<()> {
        let names = self.unconsumed();
        if names.is_empty() {
            return Ok(());
        }
        Err(self.error(AttributeIssue::Unsupported {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of an expected error (panics, failing the test, on `Ok`).
    fn err_msg<T: std::fmt::Debug>(r: Result<T>) -> String {
        match r {
            Ok(v) => panic!("expected an error, got Ok({v:?})"),
            Err(e) => e.to_string(),
        }
    }

    fn attr(name: &str, ty: AttributeType) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            r#type: Some(ty as i32),
            ..AttributeProto::default()
        }
    }

    fn node(attribute: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: Some("Conv".into()),
            output: vec!["y".into()],
            attribute,
            ..NodeProto::default()
        }
    }

    #[test]
    fn typed_getters_and_unconsumed() -> Result<()> {
        let n = node(vec![
            AttributeProto {
                i: Some(0),
                ..attr("axis", AttributeType::Int)
            },
            AttributeProto {
                ints: vec![3, 3],
                ..attr("kernel_shape", AttributeType::Ints)
            },
            AttributeProto {
                f: Some(0.5),
                ..attr("alpha", AttributeType::Float)
            },
            AttributeProto {
                s: Some(b"NOTSET".to_vec()),
                ..attr("auto_pad", AttributeType::String)
            },
            AttributeProto {
                t: Some(TensorProto::default()),
                ..attr("value", AttributeType::Tensor)
            },
            AttributeProto {
                ints: vec![1],
                ..attr("dilations", AttributeType::Ints)
            },
            AttributeProto {
                i: Some(2),
                r#type: None,
                ..attr("group", AttributeType::Undefined)
            },
        ]);
        let a = NodeAttributes::new(&n)?;
        assert_eq!(a.node_name(), "y");
        assert_eq!(a.get_int("axis")?, Some(0));
        assert_eq!(a.get_ints("kernel_shape")?, Some(&[3i64, 3][..]));
        assert_eq!(a.get_float("alpha")?, Some(0.5));
        assert_eq!(a.get_string("auto_pad")?, Some("NOTSET"));
        assert!(a.get_tensor("value")?.is_some());
        assert_eq!(a.get_int("missing")?, None);
        assert_eq!(a.unconsumed(), vec!["dilations", "group"]);
        let msg = err_msg(a.reject_unconsumed());
        assert_eq!(
            msg,
            "ONNX node `y` (op Conv): unsupported attribute(s): `dilations`, `group`"
        );
        // An attribute without `type` (old producers) is accepted when its value field is set.
        assert_eq!(a.get_int("group")?, Some(2));
        assert!(a.get_ints("dilations")?.is_some());
        a.reject_unconsumed()
    }

    #[test]
    fn wrong_types_and_bad_attributes_are_errors() -> Result<()> {
        let n = node(vec![
            AttributeProto {
                ints: vec![1],
                ..attr("pads", AttributeType::Ints)
            },
            AttributeProto {
                s: Some(vec![0xff]),
                ..attr("mode", AttributeType::String)
            },
            AttributeProto {
                f: Some(1.0),
                r#type: None,
                ..attr("beta", AttributeType::Undefined)
            },
            AttributeProto {
                ref_attr_name: Some("p".into()),
                ..attr("r", AttributeType::Int)
            },
        ]);
        let a = NodeAttributes::new(&n)?;
        let e = err_msg(a.get_int("pads"));
        assert_eq!(
            e,
            "ONNX node `y` (op Conv): attribute `pads` has INTS, expected INT"
        );
        assert!(err_msg(a.get_string("mode")).contains("`mode` is not UTF-8"));
        assert!(err_msg(a.get_int("beta")).contains("`beta` has no type, expected INT"));
        assert!(err_msg(a.get_int("r")).contains("attribute references are not supported"));
        let dup = node(vec![
            attr("k", AttributeType::Int),
            attr("k", AttributeType::Int),
        ]);
        assert!(err_msg(NodeAttributes::new(&dup)).contains("`k` is given twice"));
        // The same errors, typed.
        let issue = |r: Result<Option<i64>>| match r {
            Err(IrError::OnnxNode { issue, .. }) => *issue,
            other => panic!("expected an ONNX node error, got {other:?}"),
        };
        assert!(matches!(
            issue(a.get_int("pads")),
            NodeIssue::Attribute(AttributeIssue::Type { ref name, found, expected: "INT" })
                if name == "pads" && found == AttributeType::Ints as i32
        ));
        assert!(matches!(
            issue(a.get_int("beta")),
            NodeIssue::Attribute(AttributeIssue::Type { found: 0, .. })
        ));
        assert!(matches!(
            issue(a.get_int("r")),
            NodeIssue::Attribute(AttributeIssue::Reference { ref target, .. }) if target == "p"
        ));
        let unnamed = NodeProto {
            output: vec![],
            ..node(vec![attr("", AttributeType::Int)])
        };
        let e = err_msg(NodeAttributes::new(&unnamed));
        assert_eq!(
            e,
            "ONNX node `<unnamed>` (op Conv): attribute #0 has no name"
        );
        Ok(())
    }
}
