//! The characters XML 1.0 allows (production `Char`): tab, LF, CR, and
//! everything from U+0020 on except U+FFFE and U+FFFF (surrogates cannot
//! occur in a Rust string). The other C0 control characters — escape,
//! bell, backspace … — are refused whether written as they are or as a
//! character reference such as `&#x1b;`, so a BPMN file cannot carry
//! terminal control sequences into names, documentation or expressions.

/// Whether XML 1.0 allows `c` in a document.
pub fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `text` that XML 1.0 does not allow, with its byte
/// offset. Looks at bytes, 64 at a time without branches (so the compiler
/// can use vector instructions): only a C0 byte other than tab, LF and CR,
/// or the lead byte 0xEF of U+FFFE / U+FFFF, needs a closer look.
pub fn first_forbidden(text: &str) -> Option<(usize, char)> {
    const CHUNK: usize = 64;
    let suspect = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r') | (b == 0xEF);
    for (i, chunk) in text.as_bytes().chunks(CHUNK).enumerate() {
        if !chunk.iter().fold(false, |acc, &b| acc | suspect(b)) {
            continue;
        }
        for (j, &b) in chunk.iter().enumerate() {
            let at = i * CHUNK + j;
            if suspect(b)
                && let Some(c) = text.get(at..).and_then(|rest| rest.chars().next())
                && !allowed(c)
            {
                return Some((at, c));
            }
        }
    }
    None
}

/// How a refused character is named in a message: its code point, and its
/// common name when it has one.
pub fn describe(c: char) -> String {
    let name = match c {
        '\0' => " (NUL)",
        '\u{7}' => " (bell)",
        '\u{8}' => " (backspace)",
        '\u{c}' => " (form feed)",
        '\u{1b}' => " (escape)",
        '\u{FFFE}' | '\u{FFFF}' => " (a noncharacter)",
        _ => " (a control character)",
    };
    format!("U+{:04X}{name}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_is_the_xml_char_production() {
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            'a',
            'é',
            '\u{7f}',
            '\u{85}',
            '\u{FFFD}',
            '\u{10000}',
            '\u{10FFFF}',
        ] {
            assert!(allowed(c), "{c:?}");
        }
        for c in [
            '\0', '\u{1}', '\u{7}', '\u{8}', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{FFFE}',
            '\u{FFFF}',
        ] {
            assert!(!allowed(c), "{c:?}");
        }
    }

    #[test]
    fn first_forbidden_finds_the_first_refused_character() {
        assert_eq!(
            first_forbidden("plain\ttext\r\n with ï and \u{EFFF} \u{FFFD}"),
            None
        );
        assert_eq!(first_forbidden("ab\u{1b}[2Jc\u{7}"), Some((2, '\u{1b}')));
        assert_eq!(first_forbidden("ï\u{FFFD}x\u{FFFF}"), Some((6, '\u{FFFF}')));
        assert_eq!(first_forbidden("\u{FFFE}"), Some((0, '\u{FFFE}')));
        assert_eq!(first_forbidden(""), None);
    }

    #[test]
    fn refused_characters_are_named_by_code_point() {
        assert_eq!(describe('\u{1b}'), "U+001B (escape)");
        assert_eq!(describe('\u{FFFF}'), "U+FFFF (a noncharacter)");
        assert_eq!(describe('\u{2}'), "U+0002 (a control character)");
    }
}
