//! Serde helpers that store JSON values as JSON text inside the binary
//! history encoding (postcard cannot carry self-describing values).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use windlass_types::Vars;

/// `#[serde(with = "vars")]`: a variable map as JSON text.
pub mod vars {
    use super::*;

    /// Serializes the map as JSON text.
    pub fn serialize<S: Serializer>(v: &Vars, s: S) -> Result<S::Ok, S::Error> {
        if v.is_empty() {
            // The common case, written without a temporary string.
            return "{}".serialize(s);
        }
        let text = serde_json::to_string(v).map_err(serde::ser::Error::custom)?;
        text.serialize(s)
    }

    /// Parses the map back from JSON text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vars, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "opt_value")]`: an optional JSON value as optional text.
pub mod opt_value {
    use super::*;

    /// Serializes the value as optional JSON text.
    pub fn serialize<S: Serializer>(v: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
        let text = match v {
            Some(v) => Some(serde_json::to_string(v).map_err(serde::ser::Error::custom)?),
            None => None,
        };
        text.serialize(s)
    }

    /// Parses the optional value back.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}
