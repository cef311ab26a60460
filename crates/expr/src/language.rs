//! Choosing an expression language from a BPMN `expressionLanguage` /
//! `language` URI.

/// A language that conditions and scripts may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// The Common Expression Language (Kubernetes-native).
    Cel,
    /// The Adhesive compatibility dialect: a small Python-expression subset.
    Compat,
}

/// URIs (compared without case) that select CEL.
const CEL_URIS: [&str; 3] = [
    "cel",
    "https://github.com/google/cel-spec",
    "urn:windlass:cel",
];

/// URIs (compared without case) that select the compatibility dialect, besides
/// an absent or empty one.
const COMPAT_URIS: [&str; 3] = [
    "http://www.w3.org/1999/XPath",
    "python",
    "urn:windlass:compat",
];

impl Language {
    /// The language a BPMN `expressionLanguage`/`language` URI names, or `None`
    /// when Windlass does not support it. No URI and the XPath editor default
    /// (`http://www.w3.org/1999/XPath`) select [`Language::Compat`], as do
    /// `python` (what Adhesive models write) and `urn:windlass:compat`. CEL is
    /// selected by `cel`, `https://github.com/google/cel-spec` and
    /// `urn:windlass:cel`. Anything else, FEEL included, is `None`.
    pub fn from_uri(uri: Option<&str>) -> Option<Language> {
        let uri = match uri.map(str::trim) {
            None | Some("") => return Some(Language::Compat),
            Some(u) => u.trim_end_matches('/'),
        };
        if CEL_URIS.iter().any(|c| c.eq_ignore_ascii_case(uri)) {
            Some(Language::Cel)
        } else if COMPAT_URIS.iter().any(|c| c.eq_ignore_ascii_case(uri)) {
            Some(Language::Compat)
        } else {
            None
        }
    }

    /// The canonical URI for this language (what `from_uri` maps back).
    pub fn uri(self) -> &'static str {
        match self {
            Language::Cel => "https://github.com/google/cel-spec",
            Language::Compat => "urn:windlass:compat",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn no_uri_and_xpath_select_compat() {
        assert_eq!(Language::from_uri(None), Some(Language::Compat));
        assert_eq!(Language::from_uri(Some("  ")), Some(Language::Compat));
        assert_eq!(
            Language::from_uri(Some("http://www.w3.org/1999/XPath")),
            Some(Language::Compat)
        );
        assert_eq!(Language::from_uri(Some("python")), Some(Language::Compat));
    }

    #[test]
    fn cel_uris_select_cel() {
        for uri in [
            "cel",
            "CEL",
            "https://github.com/google/cel-spec",
            "urn:windlass:cel",
            " cel ",
        ] {
            assert_eq!(Language::from_uri(Some(uri)), Some(Language::Cel), "{uri}");
        }
    }

    #[test]
    fn feel_and_unknown_uris_are_unsupported() {
        assert_eq!(
            Language::from_uri(Some("https://www.omg.org/spec/DMN/20191111/FEEL/")),
            None
        );
        assert_eq!(Language::from_uri(Some("feel")), None);
        assert_eq!(Language::from_uri(Some("javascript")), None);
    }

    #[test]
    fn canonical_uri_round_trips() {
        for lang in [Language::Cel, Language::Compat] {
            assert_eq!(Language::from_uri(Some(lang.uri())), Some(lang));
        }
    }
}
