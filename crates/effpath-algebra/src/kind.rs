//! Small vocabulary types: the network [`Fingerprint`], the three [`ElementKind`]s, the
//! [`LayerKind`] of a traced layer and the [`LayerSelection`] of aggregated metrics.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Opaque 32-byte content fingerprint of a network (e.g. a SHA-256 of its weights), given by
/// the caller. Displayed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fingerprint(pub [u8; 32]);

impl From<[u8; 32]> for Fingerprint {
    fn from(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bad = || serde::de::Error::custom("a fingerprint is 64 hex digits");
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(out))
    }
}

/// The three element spaces of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ElementKind {
    /// Neurons ("points"): elements of the layer's output tensor.
    Neuron,
    /// Synapses ("edges"): (input neuron, output neuron) pairs in the compact encoding.
    Synapse,
    /// Weights: distinct kernel/matrix parameters (shared by many synapses in a conv).
    Weight,
}

impl ElementKind {
    /// All element kinds, in storage order.
    pub const ALL: [ElementKind; 3] = [
        ElementKind::Neuron,
        ElementKind::Synapse,
        ElementKind::Weight,
    ];

    /// Position of this kind in [`ElementKind::ALL`].
    pub fn index(self) -> usize {
        match self {
            ElementKind::Neuron => 0,
            ElementKind::Synapse => 1,
            ElementKind::Weight => 2,
        }
    }

    /// Lower-case name (`"neuron"`, `"synapse"`, `"weight"`).
    pub fn name(self) -> &'static str {
        match self {
            ElementKind::Neuron => "neuron",
            ElementKind::Synapse => "synapse",
            ElementKind::Weight => "weight",
        }
    }
}

impl fmt::Display for ElementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of operation a traced layer is. Only the distinction weighted / not weighted
/// matters to the algebra; the kind is recorded so that paths can be explained and selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LayerKind {
    /// Fully connected layer; synapses (N_in, N_out), weights (N_out, N_in).
    Dense,
    /// 2-D convolution; synapses (C_in/groups, kh, kw, C_out, OH, OW), weights
    /// (C_out, C_in/groups, kh, kw).
    Conv2d,
    /// 2-D max pooling; synapses (kh, kw, C, OH, OW), no weights.
    MaxPool2d,
    /// 2-D average pooling; synapses (kh, kw, C, OH, OW), no weights.
    AvgPool2d,
    /// Global average pooling (mean over H, W); synapses = input shape (C, H, W), no weights.
    GlobalAvgPool,
}

impl LayerKind {
    /// `true` for layers with parameters (Dense, Conv2d) — the layers of the detector features.
    pub fn is_weighted(self) -> bool {
        matches!(self, LayerKind::Dense | LayerKind::Conv2d)
    }

    /// Stable one-byte code used by the binary format.
    pub fn code(self) -> u8 {
        match self {
            LayerKind::Dense => 0,
            LayerKind::Conv2d => 1,
            LayerKind::MaxPool2d => 2,
            LayerKind::AvgPool2d => 3,
            LayerKind::GlobalAvgPool => 4,
        }
    }

    /// Inverse of [`LayerKind::code`]; `None` for unknown codes.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => LayerKind::Dense,
            1 => LayerKind::Conv2d,
            2 => LayerKind::MaxPool2d,
            3 => LayerKind::AvgPool2d,
            4 => LayerKind::GlobalAvgPool,
            _ => return None,
        })
    }
}

/// Which layers an aggregated metric sums over (spec §7.9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LayerSelection {
    /// Every traced layer (pools included: their synapses count).
    #[default]
    All,
    /// Weighted layers only (Dense, Conv2d) — the layers of the detector features.
    Weighted,
}

impl LayerSelection {
    /// Whether a layer of this kind is selected.
    pub fn includes(self, kind: LayerKind) -> bool {
        match self {
            LayerSelection::All => true,
            LayerSelection::Weighted => kind.is_weighted(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_weighted_kinds() {
        let all = [
            LayerKind::Dense,
            LayerKind::Conv2d,
            LayerKind::MaxPool2d,
            LayerKind::AvgPool2d,
            LayerKind::GlobalAvgPool,
        ];
        for k in all {
            assert_eq!(LayerKind::from_code(k.code()), Some(k));
            assert_eq!(LayerSelection::Weighted.includes(k), k.is_weighted());
            assert!(LayerSelection::All.includes(k));
        }
        assert_eq!(LayerKind::from_code(5), None);
        assert_eq!(all.iter().filter(|k| k.is_weighted()).count(), 2);
        for (i, k) in ElementKind::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i);
        }
        assert_eq!(ElementKind::Synapse.to_string(), "synapse");
    }

    #[test]
    fn fingerprint_hex() {
        let mut f = [0u8; 32];
        f[0] = 0xa0;
        f[31] = 0x0b;
        let fp = Fingerprint(f);
        assert_eq!(fp.to_string(), format!("a0{}0b", "00".repeat(30)));
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
        assert!(serde_json::from_str::<Fingerprint>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Fingerprint>(&format!("\"{}\"", "zz".repeat(32))).is_err());
    }
}
