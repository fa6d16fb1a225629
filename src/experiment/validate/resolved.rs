//! The experiment file as it runs: the located tree, variables expanded, written back as YAML
//! with its keys in file order (what the report shows under "the file as it ran").

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::config::node::{Node, NodeValue};

/// `root` as YAML text (empty if it cannot be written, which plain data never causes).
pub(super) fn yaml(root: &Node) -> String {
    serde_saphyr::to_string(&InOrder(root)).unwrap_or_default()
}

/// A tree serialized as written: mappings keep their file order.
struct InOrder<'a>(&'a Node);

impl Serialize for InOrder<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0.value {
            NodeValue::Scalar(v) => v.serialize(s),
            NodeValue::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&InOrder(item))?;
                }
                seq.end()
            }
            NodeValue::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, _, node) in entries {
                    map.serialize_entry(key, &InOrder(node))?;
                }
                map.end()
            }
        }
    }
}
