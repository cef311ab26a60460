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
            // Exactly three characters: `2xx` or `404` (no sign, no
            // leading zero, which `u16::from_str` would take).
            let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
            let lower = item.to_ascii_lowercase();
            match (lower.len(), lower.strip_suffix("xx")) {
                (3, Some(d)) if digits(d) => match d.parse::<u16>() {
                    Ok(d) if (1..=5).contains(&d) => out.classes.push(d),
                    _ => return Err(bad()),
                },
                (3, None) if digits(&lower) => match lower.parse::<u16>() {
                    Ok(c) if (100..=599).contains(&c) => out.codes.push(c),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
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
        for bad in [
            "", "2x", "6xx", "99", "600", "ok", "200,,201", "+200", "0200", "02xx", "+2xx", "0xx",
        ] {
            let e = SuccessCodes::parse(bad).unwrap_err();
            assert!(e.contains("is neither"), "{bad}: {e}");
        }
    }
}
