//! Splits compat-dialect source into tokens, one at a time, over its bytes.
//!
//! Names and strings without escapes borrow from the source; nothing is
//! allocated except the text of a string with escapes. Token offsets are byte
//! offsets; errors report char offsets ([`char_offset`]).

use std::borrow::Cow;

use crate::ExprError;

/// One token's kind (and literal value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal, escapes resolved (borrowed when it has none).
    Str(Cow<'a, str>),
    /// An identifier or keyword (the parser tells them apart).
    Name(&'a str),
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

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok<'a>,
    pub(crate) at: usize,
}

/// The char offset of byte offset `byte` in `source` (errors report chars).
pub(crate) fn char_offset(source: &str, byte: usize) -> usize {
    source.get(..byte).map_or(byte, |s| s.chars().count())
}

/// String prefixes Python allows (`f'..'`, `r'..'`, ...) that we reject.
const STRING_PREFIXES: [&str; 10] = ["f", "r", "b", "u", "rb", "br", "fr", "rf", "F", "R"];

/// The symbol spelled by the ASCII byte `c` and the byte after it (`next`),
/// and its length; two-byte symbols win.
fn symbol(c: u8, next: Option<u8>) -> Option<(Sym, usize)> {
    let pair = match (c, next) {
        (b'*', Some(b'*')) => Some(Sym::StarStar),
        (b'/', Some(b'/')) => Some(Sym::SlashSlash),
        (b'=', Some(b'=')) => Some(Sym::EqEq),
        (b'!', Some(b'=')) => Some(Sym::NotEq),
        (b'<', Some(b'=')) => Some(Sym::Le),
        (b'>', Some(b'=')) => Some(Sym::Ge),
        (b':', Some(b'=')) => Some(Sym::Walrus),
        (b'&', Some(b'&')) => Some(Sym::AndAnd),
        (b'|', Some(b'|')) => Some(Sym::OrOr),
        (b'<', Some(b'>')) => Some(Sym::NotEq),
        _ => None,
    };
    if let Some(sym) = pair {
        return Some((sym, 2));
    }
    let sym = match c {
        b'(' => Sym::LParen,
        b')' => Sym::RParen,
        b'[' => Sym::LBracket,
        b']' => Sym::RBracket,
        b'{' => Sym::LBrace,
        b'}' => Sym::RBrace,
        b',' => Sym::Comma,
        b'.' => Sym::Dot,
        b':' => Sym::Colon,
        b'+' => Sym::Plus,
        b'-' => Sym::Minus,
        b'*' => Sym::Star,
        b'/' => Sym::Slash,
        b'%' => Sym::Percent,
        b'<' => Sym::Lt,
        b'>' => Sym::Gt,
        b'=' => Sym::Assign,
        b'!' => Sym::Bang,
        _ => return None,
    };
    Some((sym, 1))
}

/// ASCII bytes that `char::is_whitespace` accepts.
fn is_ascii_space(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// Whether `c` continues a name (as `char::is_alphanumeric() || '_'`).
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A lexer over one source string.
pub(crate) struct Lexer<'a> {
    source: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `source`.
    pub(crate) fn new(source: &'a str) -> Lexer<'a> {
        Lexer {
            source,
            bytes: source.as_bytes(),
            pos: 0,
        }
    }

    /// An error at byte offset `byte`.
    fn error(&self, byte: usize, message: impl Into<String>) -> ExprError {
        ExprError::at(char_offset(self.source, byte), message)
    }

    /// The char starting at byte `i`, if any.
    fn char_at(&self, i: usize) -> Option<char> {
        match self.bytes.get(i) {
            Some(&b) if b < 0x80 => Some(char::from(b)),
            Some(_) => self.source.get(i..).and_then(|s| s.chars().next()),
            None => None,
        }
    }

    /// The next token; at the end, [`Tok::Eof`] (again and again). On an
    /// error the lexer stays where it is, so it reports the same error again.
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, ExprError> {
        loop {
            let start = self.pos;
            let Some(&b) = self.bytes.get(start) else {
                return Ok(Token {
                    tok: Tok::Eof,
                    at: start,
                });
            };
            let tok = if b >= 0x80 {
                let c = self.char_at(start).unwrap_or(char::REPLACEMENT_CHARACTER);
                if c.is_whitespace() {
                    self.pos += c.len_utf8();
                    continue;
                }
                if !c.is_alphabetic() {
                    return Err(self.error(start, format!("unexpected character {c:?}")));
                }
                self.name(start)?
            } else if is_ascii_space(b) {
                self.pos += 1;
                continue;
            } else if b.is_ascii_digit()
                || (b == b'.' && self.bytes.get(start + 1).is_some_and(u8::is_ascii_digit))
            {
                self.number(start)?
            } else if b == b'\'' || b == b'"' {
                Tok::Str(self.string(start)?)
            } else if b.is_ascii_alphabetic() || b == b'_' {
                self.name(start)?
            } else if b == b'#' {
                return Err(self.error(start, "comments ('#') are not supported"));
            } else if let Some((sym, len)) = symbol(b, self.bytes.get(start + 1).copied()) {
                self.pos = start + len;
                Tok::Sym(sym)
            } else {
                let c = char::from(b);
                return Err(self.error(start, format!("unexpected character {c:?}")));
            };
            return Ok(Token { tok, at: start });
        }
    }

    /// Lexes a name starting at `start` (its first char is known to be a
    /// letter or `_`).
    fn name(&mut self, start: usize) -> Result<Tok<'a>, ExprError> {
        let mut i = start;
        while let Some(c) = self.char_at(i) {
            if !is_name_char(c) {
                break;
            }
            i += c.len_utf8();
        }
        let name = self.source.get(start..i).unwrap_or("");
        if matches!(self.bytes.get(i), Some(b'\'' | b'"')) && STRING_PREFIXES.contains(&name) {
            return Err(self.error(
                start,
                format!("string prefixes like {name}'...' are not supported"),
            ));
        }
        self.pos = i;
        Ok(Tok::Name(name))
    }

    /// Lexes a number starting at `start`.
    fn number(&mut self, start: usize) -> Result<Tok<'a>, ExprError> {
        let bytes = self.bytes;
        let digits = |i: &mut usize| {
            while bytes
                .get(*i)
                .is_some_and(|b| b.is_ascii_digit() || *b == b'_')
            {
                *i += 1;
            }
        };
        let mut i = start;
        digits(&mut i);
        let mut is_float = false;
        if bytes.get(i) == Some(&b'.')
            && self
                .char_at(i + 1)
                .is_none_or(|c| !c.is_alphabetic() && c != '_')
        {
            is_float = true;
            i += 1;
            digits(&mut i);
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(bytes.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if bytes.get(j).is_some_and(u8::is_ascii_digit) {
                is_float = true;
                i = j;
                digits(&mut i);
            }
        }
        if self.char_at(i).is_some_and(is_name_char) {
            return Err(self.error(
                start,
                "invalid number literal (hex, octal and suffixes are not supported)",
            ));
        }
        let raw = bytes.get(start..i).unwrap_or_default();
        // The literal without its `_` separators (all ASCII).
        let text = || -> String {
            raw.iter()
                .filter(|b| **b != b'_')
                .map(|b| char::from(*b))
                .collect()
        };
        let tok = if is_float {
            let parsed = match self.source.get(start..i) {
                Some(plain) if !plain.contains('_') => plain.parse::<f64>(),
                _ => text().parse::<f64>(),
            };
            let f = parsed
                .map_err(|_| self.error(start, format!("invalid float literal {:?}", text())))?;
            if !f.is_finite() {
                return Err(self.error(start, format!("float literal {} is out of range", text())));
            }
            Tok::Float(f)
        } else {
            // Integers are accumulated directly: no text copy.
            let value = raw.iter().filter(|b| **b != b'_').try_fold(0i64, |acc, b| {
                acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
            });
            match value {
                Some(v) => Tok::Int(v),
                None => {
                    return Err(self.error(
                        start,
                        format!("integer literal {} does not fit in 64 bits", text()),
                    ));
                }
            }
        };
        self.pos = i;
        Ok(tok)
    }

    /// Lexes a quoted string starting at `start`: borrowed from the source
    /// when it has no escapes.
    fn string(&mut self, start: usize) -> Result<Cow<'a, str>, ExprError> {
        let bytes = self.bytes;
        let quote = bytes.get(start).copied().unwrap_or(b'"');
        let body = start + 1;
        let mut i = body;
        // The common case: no backslash before the closing quote.
        while let Some(&b) = bytes.get(i) {
            if b == quote {
                self.pos = i + 1;
                return Ok(Cow::Borrowed(self.source.get(body..i).unwrap_or("")));
            }
            if b == b'\\' {
                break;
            }
            i += 1;
        }
        let mut text = String::from(self.source.get(body..i).unwrap_or(""));
        while let Some(c) = self.char_at(i) {
            if c == char::from(quote) {
                // Kept in the compiled program: no spare capacity.
                text.shrink_to_fit();
                self.pos = i + 1;
                return Ok(Cow::Owned(text));
            }
            match (c, self.char_at(i + 1)) {
                ('\\', Some(escaped)) => {
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
                    i += 1 + escaped.len_utf8();
                }
                (c, _) => {
                    text.push(c);
                    i += c.len_utf8();
                }
            }
        }
        Err(self.error(start, "unterminated string literal"))
    }
}

/// Tokenizes all of `source`; the last token is always [`Tok::Eof`].
#[cfg(test)]
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token<'_>>, ExprError> {
    let mut lexer = Lexer::new(source);
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let end = token.tok == Tok::Eof;
        tokens.push(token);
        if end {
            return Ok(tokens);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok<'_>> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_the_corpus_shapes() {
        assert_eq!(
            kinds("data.route == \"task\""),
            vec![
                Tok::Name("data"),
                Tok::Sym(Sym::Dot),
                Tok::Name("route"),
                Tok::Sym(Sym::EqEq),
                Tok::Str("task".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("event[\"state\"]"),
            vec![
                Tok::Name("event"),
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
    fn strings_borrow_unless_escaped() {
        let toks = tokenize(r#"'plain' "é\\x" 'a\qb'"#).unwrap();
        assert!(matches!(&toks[0].tok, Tok::Str(Cow::Borrowed("plain"))));
        assert!(matches!(&toks[1].tok, Tok::Str(Cow::Owned(s)) if s == "é\\x"));
        assert!(matches!(&toks[2].tok, Tok::Str(Cow::Owned(s)) if s == "a\\qb"));
        let err = tokenize("'ab\\").unwrap_err();
        assert_eq!(err.message, "unterminated string literal");
        assert_eq!(err.offset, Some(0));
    }

    #[test]
    fn unicode_whitespace_names_and_errors() {
        assert_eq!(
            kinds("\u{a0}é1\u{2028}x\u{b}"),
            vec![Tok::Name("é1"), Tok::Name("x"), Tok::Eof]
        );
        let err = tokenize("x ∑").unwrap_err();
        assert_eq!(err.message, "unexpected character '∑'");
        assert_eq!(err.offset, Some(2));
        assert!(
            tokenize("1²")
                .unwrap_err()
                .message
                .contains("invalid number")
        );
        assert_eq!(
            kinds("1.é 2.5e-1 1_0.0_1"),
            vec![
                Tok::Int(1),
                Tok::Sym(Sym::Dot),
                Tok::Name("é"),
                Tok::Float(0.25),
                Tok::Float(10.01),
                Tok::Eof
            ]
        );
        assert!(
            tokenize("3e")
                .unwrap_err()
                .message
                .contains("invalid number")
        );
    }

    #[test]
    fn two_char_symbols_and_offsets() {
        let toks = tokenize("a <= b && !c").unwrap();
        let offsets: Vec<usize> = toks.iter().map(|t| t.at).collect();
        assert_eq!(offsets, vec![0, 2, 5, 7, 10, 11, 12]);
        assert_eq!(toks[1].tok, Tok::Sym(Sym::Le));
        assert_eq!(toks[3].tok, Tok::Sym(Sym::AndAnd));
        assert_eq!(toks[4].tok, Tok::Sym(Sym::Bang));
    }

    #[test]
    fn offsets_count_chars_not_bytes() {
        let src = "'é' == x";
        let toks = tokenize(src).unwrap();
        assert_eq!(toks[1].at, 5, "tokens carry byte offsets");
        assert_eq!(char_offset(src, toks[1].at), 4);
        assert_eq!(tokenize("'é' @").unwrap_err().offset, Some(4));
    }
}
