//! The two error types: a compile (syntax) error with its place in the
//! source, and an evaluation error.

/// Where in the expression source a problem is (0-based char offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", offset.map(|o| format!(" (at char {o})")).unwrap_or_default())]
pub struct ExprError {
    /// What is wrong, for a person.
    pub message: String,
    /// Char offset into the source where the problem is, when known.
    pub offset: Option<usize>,
}

impl ExprError {
    /// An error at char offset `offset`.
    pub fn at(offset: usize, message: impl Into<String>) -> ExprError {
        ExprError {
            message: message.into(),
            offset: Some(offset),
        }
    }
}

/// A failure while evaluating a valid expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What went wrong, for a person.
    pub message: String,
}

impl EvalError {
    /// An evaluation error with `message`.
    pub fn new(message: impl Into<String>) -> EvalError {
        EvalError {
            message: message.into(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn expr_error_display_names_the_offset_when_known() {
        assert_eq!(ExprError::at(3, "bad").to_string(), "bad (at char 3)");
        let no_offset = ExprError {
            message: "bad".into(),
            offset: None,
        };
        assert_eq!(no_offset.to_string(), "bad");
    }

    #[test]
    fn eval_error_display_is_its_message() {
        assert_eq!(EvalError::new("boom").to_string(), "boom");
    }
}
