//! Tests of the lexer: token kinds, numbers, strings, offsets.

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
