//! Process variables are JSON objects; helpers shared by every layer.

/// A scope's variables: a JSON object.
pub type Vars = serde_json::Map<String, serde_json::Value>;

/// Collapses every run of whitespace to one space and trims the ends, as task
/// names and mock keys are compared.
pub fn normalize_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_normalized() {
        assert_eq!(
            normalize_whitespace("  Build\nGermanium\t\tImage "),
            "Build Germanium Image"
        );
        assert_eq!(normalize_whitespace(""), "");
    }
}
