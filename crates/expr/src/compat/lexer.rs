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
mod tests;
