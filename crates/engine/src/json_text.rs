//! Serde helpers that store JSON values as JSON text inside the binary
//! history encoding (postcard cannot carry self-describing values).
//!
//! Postcard drops the message of a nested deserialisation error, so when JSON
//! text fails to parse because it nests deeper than `serde_json` reads, the
//! depth found is left in a per-thread note that [`take_too_deep`] collects:
//! the codec then reports the limit instead of calling the record corrupt.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::cell::Cell;
use windlass_types::Vars;
use windlass_types::limits::{DECODER_MAX_DEPTH, text_depth};

thread_local! {
    /// The depth of the last JSON text on this thread that was too deep to parse.
    static TOO_DEEP: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Takes (and clears) the depth noted by the last too-deep parse on this thread.
pub(crate) fn take_too_deep() -> Option<usize> {
    TOO_DEEP.with(Cell::take)
}

/// Parses JSON text; on failure notes whether the text was too deep to parse.
fn parse<T: serde::de::DeserializeOwned, E: serde::de::Error>(text: &str) -> Result<T, E> {
    serde_json::from_str(text).map_err(|e| {
        let depth = text_depth(text);
        if depth >= DECODER_MAX_DEPTH {
            TOO_DEEP.with(|c| c.set(Some(depth)));
        }
        E::custom(e)
    })
}

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
        parse(&text)
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
            Some(text) => parse(&text).map(Some),
            None => Ok(None),
        }
    }
}
