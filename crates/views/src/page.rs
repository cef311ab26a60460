//! Keyset paging: a [`Cursor`] names the last row of a page, and the next
//! page starts behind it in the `(created_at, id, run)` order. Cursors are
//! stable under inserts, unlike offsets.
//!
//! A cursor's text form is `{created_at}.{hex id}.{hex run}` — opaque to
//! clients, safe in a URL query or a shell argument, and decoded without
//! trusting it.

use crate::error::{ViewError, ViewResult};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use windlass_store_api::{InstanceCursor, InstanceRef, InstanceRow, Timestamp};

/// The largest page a caller may ask for.
pub const MAX_PAGE: usize = 10_000;

/// A position in the instance order; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub InstanceCursor);

impl Cursor {
    /// The cursor of `row`.
    pub fn of(row: &InstanceRow) -> Self {
        Self(InstanceCursor::of(row))
    }

    /// The text form.
    pub fn token(&self) -> String {
        let c = &self.0;
        format!(
            "{}.{}.{}",
            c.created_at.0,
            hex(c.instance.id.as_str()),
            hex(c.instance.run.as_str())
        )
    }

    /// Parses the text form made by [`Cursor::token`].
    pub fn parse(token: &str) -> ViewResult<Self> {
        let bad = || ViewError::BadCursor(crate::text::printable(token).chars().take(64).collect());
        let mut parts = token.split('.');
        let (Some(t), Some(id), Some(run), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let created_at = t.parse::<i64>().map_err(|_| bad())?;
        let id = unhex(id).ok_or_else(bad)?;
        let run = unhex(run).ok_or_else(bad)?;
        Ok(Self(InstanceCursor {
            created_at: Timestamp(created_at),
            instance: InstanceRef::new(id, run),
        }))
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.token())
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Cursor::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes = s
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Which page to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Start behind this row (`None`: from the first).
    pub after: Option<Cursor>,
    /// At most this many items (capped at [`MAX_PAGE`]; `None`: [`MAX_PAGE`]).
    pub limit: Option<usize>,
}

impl PageRequest {
    /// The page size this request stands for, at most [`MAX_PAGE`].
    pub fn size(&self) -> usize {
        self.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE)
    }
}

/// One page of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// The cursor to ask for the next page with; `None` on the last page.
    #[schema(value_type = Option<String>)]
    pub next: Option<Cursor>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let c = Cursor(InstanceCursor {
            created_at: Timestamp(-5),
            instance: InstanceRef::new("order.7/ü", "1"),
        });
        let t = c.token();
        assert!(
            t.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-')
        );
        assert_eq!(Cursor::parse(&t).unwrap(), c);
        for bad in [
            "",
            "1.2",
            "x.61.31",
            "1.6.31",
            "1.zz.31",
            "1.61.31.0",
            "1.ff.31",
        ] {
            assert!(
                matches!(Cursor::parse(bad), Err(ViewError::BadCursor(_))),
                "{bad}"
            );
        }
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), c);
    }

    #[test]
    fn page_sizes_stay_in_range() {
        assert_eq!(PageRequest::default().size(), MAX_PAGE);
        let r = |l| {
            PageRequest {
                after: None,
                limit: Some(l),
            }
            .size()
        };
        assert_eq!(r(0), 0);
        assert_eq!(r(usize::MAX), MAX_PAGE);
        assert_eq!(r(20), 20);
    }
}
