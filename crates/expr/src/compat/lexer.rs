//! Splits compat-dialect source into tokens, each with its char offset.

use crate::ExprError;

/// One token's kind (and literal value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal, escapes resolved.
    Str(String),
    /// An identifier or keyword (the parser tells them apart).
    Name(String),
    /// A punctuation or operator symbol.
    Sym(Sym),
    /// End of input.
    Eof,
}

/// Punctuation and operator symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sym {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Colon,
    Plus,
    Minus,
    Star,
    StarStar,
    Slash,
    SlashSlash,
    Percent,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Assign,
    Walrus,
    AndAnd,
    OrOr,
    Bang,
}

impl Sym {
    /// The symbol as written.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Sym::LParen => "(",
            Sym::RParen => ")",
            Sym::LBracket => "[",
            Sym::RBracket => "]",
            Sym::LBrace => "{",
            Sym::RBrace => "}",
            Sym::Comma => ",",
            Sym::Dot => ".",
            Sym::Colon => ":",
            Sym::Plus => "+",
            Sym::Minus => "-",
            Sym::Star => "*",
            Sym::StarStar => "**",
            Sym::Slash => "/",
            Sym::SlashSlash => "//",
            Sym::Percent => "%",
            Sym::EqEq => "==",
            Sym::NotEq => "!=",
            Sym::Lt => "<",
            Sym::Le => "<=",
            Sym::Gt => ">",
            Sym::Ge => ">=",
            Sym::Assign => "=",
            Sym::Walrus => ":=",
            Sym::AndAnd => "&&",
            Sym::OrOr => "||",
            Sym::Bang => "!",
        }
    }
}

/// A token and the char offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) offset: usize,
}

/// Two-char symbols, checked before the one-char ones.
const PAIRS: [(char, char, Sym); 10] = [
    ('*', '*', Sym::StarStar),
    ('/', '/', Sym::SlashSlash),
    ('=', '=', Sym::EqEq),
    ('!', '=', Sym::NotEq),
    ('<', '=', Sym::Le),
    ('>', '=', Sym::Ge),
    (':', '=', Sym::Walrus),
    ('&', '&', Sym::AndAnd),
    ('|', '|', Sym::OrOr),
    ('<', '>', Sym::NotEq),
];

/// String prefixes Python allows (`f'..'`, `r'..'`, ...) that we reject.
const STRING_PREFIXES: [&str; 10] = ["f", "r", "b", "u", "rb", "br", "fr", "rf", "F", "R"];

fn single(c: char) -> Option<Sym> {
    Some(match c {
        '(' => Sym::LParen,
        ')' => Sym::RParen,
        '[' => Sym::LBracket,
        ']' => Sym::RBracket,
        '{' => Sym::LBrace,
        '}' => Sym::RBrace,
        ',' => Sym::Comma,
        '.' => Sym::Dot,
        ':' => Sym::Colon,
        '+' => Sym::Plus,
        '-' => Sym::Minus,
        '*' => Sym::Star,
        '/' => Sym::Slash,
        '%' => Sym::Percent,
        '<' => Sym::Lt,
        '>' => Sym::Gt,
        '=' => Sym::Assign,
        '!' => Sym::Bang,
        _ => return None,
    })
}

/// Tokenizes `source`; the last token is always [`Tok::Eof`].
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::with_capacity(chars.len() / 3 + 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let (tok, end) = number(&chars, i)?;
            i = end;
            tok
        } else if c == '\'' || c == '"' {
            let (text, end) = string(&chars, i)?;
            i = end;
            Tok::Str(text)
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            if chars.get(i).is_some_and(|&q| q == '\'' || q == '"')
                && STRING_PREFIXES.contains(&name.as_str())
            {
                return Err(ExprError::at(
                    start,
                    format!("string prefixes like {name}'...' are not supported"),
                ));
            }
            Tok::Name(name)
        } else if c == '#' {
            return Err(ExprError::at(start, "comments ('#') are not supported"));
        } else {
            let next = chars.get(i + 1).copied();
            if let Some(&(_, _, sym)) = PAIRS.iter().find(|(a, b, _)| *a == c && Some(*b) == next) {
                i += 2;
                Tok::Sym(sym)
            } else if let Some(sym) = single(c) {
                i += 1;
                Tok::Sym(sym)
            } else {
                return Err(ExprError::at(start, format!("unexpected character {c:?}")));
            }
        };
        tokens.push(Token { tok, offset: start });
    }
    tokens.push(Token {
        tok: Tok::Eof,
        offset: chars.len(),
    });
    Ok(tokens)
}

/// Lexes a number starting at `start`; returns the token and the end index.
fn number(chars: &[char], start: usize) -> Result<(Tok, usize), ExprError> {
    let mut i = start;
    let digits = |i: &mut usize| {
        while *i < chars.len() && (chars[*i].is_ascii_digit() || chars[*i] == '_') {
            *i += 1;
        }
    };
    digits(&mut i);
    let mut is_float = false;
    if i < chars.len()
        && chars[i] == '.'
        && chars
            .get(i + 1)
            .is_none_or(|c| !c.is_alphabetic() && *c != '_')
    {
        is_float = true;
        i += 1;
        digits(&mut i);
    }
    if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
        let mut j = i + 1;
        if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
            j += 1;
        }
        if j < chars.len() && chars[j].is_ascii_digit() {
            is_float = true;
            i = j;
            digits(&mut i);
        }
    }
    if i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        return Err(ExprError::at(
            start,
            "invalid number literal (hex, octal and suffixes are not supported)",
        ));
    }
    if !is_float {
        // Integers are accumulated directly: no text copy.
        let value = chars[start..i]
            .iter()
            .filter_map(|c| c.to_digit(10))
            .try_fold(0i64, |acc, d| {
                acc.checked_mul(10)?.checked_add(i64::from(d))
            });
        return match value {
            Some(v) => Ok((Tok::Int(v), i)),
            None => {
                let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
                Err(ExprError::at(
                    start,
                    format!("integer literal {text} does not fit in 64 bits"),
                ))
            }
        };
    }
    let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
    let tok = if is_float {
        let f: f64 = text
            .parse()
            .map_err(|_| ExprError::at(start, format!("invalid float literal {text:?}")))?;
        if !f.is_finite() {
            return Err(ExprError::at(
                start,
                format!("float literal {text} is out of range"),
            ));
        }
        Tok::Float(f)
    } else {
        Tok::Int(text.parse().map_err(|_| {
            ExprError::at(
                start,
                format!("integer literal {text} does not fit in 64 bits"),
            )
        })?)
    };
    Ok((tok, i))
}

/// Lexes a quoted string starting at `start`; returns its text and the end index.
fn string(chars: &[char], start: usize) -> Result<(String, usize), ExprError> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            c if c == quote => {
                // Kept in the compiled AST: no spare capacity.
                text.shrink_to_fit();
                return Ok((text, i + 1));
            }
            '\\' if i + 1 < chars.len() => {
                let escaped = chars[i + 1];
                match escaped {
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    'r' => text.push('\r'),
                    '0' => text.push('\0'),
                    '\\' | '\'' | '"' => text.push(escaped),
                    other => {
                        text.push('\\');
                        text.push(other);
                    }
                }
                i += 2;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(ExprError::at(start, "unterminated string literal"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_the_corpus_shapes() {
        assert_eq!(
            kinds("data.route == \"task\""),
            vec![
                Tok::Name("data".into()),
                Tok::Sym(Sym::Dot),
                Tok::Name("route".into()),
                Tok::Sym(Sym::EqEq),
                Tok::Str("task".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("event[\"state\"]"),
            vec![
                Tok::Name("event".into()),
                Tok::Sym(Sym::LBracket),
                Tok::Str("state".into()),
                Tok::Sym(Sym::RBracket),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            kinds("5 1.5 .5 1e3 1_000"),
            vec![
                Tok::Int(5),
                Tok::Float(1.5),
                Tok::Float(0.5),
                Tok::Float(1000.0),
                Tok::Int(1000),
                Tok::Eof
            ]
        );
        assert!(tokenize("99999999999999999999").is_err());
        assert!(tokenize("0x10").is_err());
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            kinds(r#"'a\'b' "c\"d\n""#),
            vec![Tok::Str("a'b".into()), Tok::Str("c\"d\n".into()), Tok::Eof]
        );
        let err = tokenize("x == 'open").unwrap_err();
        assert_eq!(err.offset, Some(5));
        assert!(tokenize("f'x'").unwrap_err().message.contains("prefixes"));
    }

    #[test]
    fn two_char_symbols_and_offsets() {
        let toks = tokenize("a <= b && !c").unwrap();
        let offsets: Vec<usize> = toks.iter().map(|t| t.offset).collect();
        assert_eq!(offsets, vec![0, 2, 5, 7, 10, 11, 12]);
        assert_eq!(toks[1].tok, Tok::Sym(Sym::Le));
        assert_eq!(toks[3].tok, Tok::Sym(Sym::AndAnd));
        assert_eq!(toks[4].tok, Tok::Sym(Sym::Bang));
    }

    #[test]
    fn offsets_count_chars_not_bytes() {
        let toks = tokenize("'é' == x").unwrap();
        assert_eq!(toks[1].offset, 4);
        assert_eq!(tokenize("'é' @").unwrap_err().offset, Some(4));
    }
}
