//! [`ExprSpec`]: an expression of the graph with its compiled form, its
//! source text kept once.

use serde::Serialize;
use windlass_expr::Expression;

/// An expression with its compiled form. The source text is kept once, by
/// the compiled [`Expression`]; only a Zeebe `=`-prefixed (FEEL-as-CEL)
/// expression keeps its text as written beside it.
#[derive(Debug, Clone)]
pub struct ExprSpec {
    /// The compiled expression.
    pub compiled: Expression,
    /// The text as written when it differs from the compiled source (the
    /// `=` of a Zeebe expression).
    written: Option<Box<str>>,
}

impl ExprSpec {
    /// An expression whose trimmed text is the compiled source.
    pub fn new(compiled: Expression) -> Self {
        ExprSpec {
            compiled,
            written: None,
        }
    }

    /// An expression written as `written` and compiled from part of it
    /// (a Zeebe `=expr` read as CEL).
    pub fn written_as(written: &str, compiled: Expression) -> Self {
        ExprSpec {
            compiled,
            written: Some(written.into()),
        }
    }

    /// The trimmed source text as written.
    pub fn source(&self) -> &str {
        self.written
            .as_deref()
            .unwrap_or_else(|| self.compiled.source())
    }
}

/// Two expressions are equal when they are written the same.
impl PartialEq for ExprSpec {
    fn eq(&self, other: &Self) -> bool {
        self.source() == other.source()
    }
}

impl Serialize for ExprSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("ExprSpec", 1)?;
        s.serialize_field("source", self.source())?;
        s.end()
    }
}
