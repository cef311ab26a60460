//! `successCodes` of `http` tasks: a comma-separated list of status codes
//! (`200`, `404`) and classes (`2xx`, `3xx`). Parsed at load time when the
//! value has no placeholders, and by the `http` executor before a request.

/// A set of HTTP status codes counted as success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessCodes {
    /// Exact codes.
    codes: Vec<u16>,
    /// Classes by first digit (`2` for `2xx`).
    classes: Vec<u16>,
}

impl Default for SuccessCodes {
    /// `2xx`.
    fn default() -> Self {
        SuccessCodes {
            codes: Vec::new(),
            classes: vec![2],
        }
    }
}

impl SuccessCodes {
    /// Parses `2xx`, `200,404`, `2xx, 3xx`; an error says which item is wrong.
    pub fn parse(text: &str) -> Result<SuccessCodes, String> {
        let mut out = SuccessCodes {
            codes: Vec::new(),
            classes: Vec::new(),
        };
        for item in text.split(',').map(str::trim) {
            let bad = || {
                format!(
                    "'{item}' is neither a status code (100-599) nor a class like 2xx \
                     (in '{text}')"
                )
            };
            if let Some(d) = item
                .to_ascii_lowercase()
                .strip_suffix("xx")
                .and_then(|d| d.parse::<u16>().ok())
            {
                if !(1..=5).contains(&d) {
                    return Err(bad());
                }
                out.classes.push(d);
            } else {
                match item.parse::<u16>() {
                    Ok(c) if (100..=599).contains(&c) => out.codes.push(c),
                    _ => return Err(bad()),
                }
            }
        }
        Ok(out)
    }

    /// True when `status` counts as success.
    pub fn contains(&self, status: u16) -> bool {
        self.codes.contains(&status) || self.classes.contains(&(status / 100))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_classes() {
        let s = SuccessCodes::parse("2xx").unwrap();
        assert!(s.contains(200) && s.contains(299) && !s.contains(300));
        let s = SuccessCodes::parse("200, 404").unwrap();
        assert!(s.contains(404) && !s.contains(201));
        let s = SuccessCodes::parse("2XX,3xx").unwrap();
        assert!(s.contains(302) && !s.contains(404));
        assert!(SuccessCodes::default().contains(204));
    }

    #[test]
    fn bad_items_are_named() {
        for bad in ["", "2x", "6xx", "99", "600", "ok", "200,,201"] {
            let e = SuccessCodes::parse(bad).unwrap_err();
            assert!(e.contains("is neither"), "{bad}: {e}");
        }
    }
}
