//! Borrowing from the source text: re-slicing what the XML parser hands out
//! with the source's lifetime, and element text kept borrowed unless it has
//! to be joined from several pieces.

use std::borrow::Cow;

/// `part` as a slice of `source`, with the source's lifetime, when `part`
/// lies inside `source` (as everything a reader over `source` hands out
/// without unescaping does); `None` otherwise.
pub fn within<'a>(source: &'a str, part: &str) -> Option<&'a str> {
    let start = part.as_ptr().addr().checked_sub(source.as_ptr().addr())?;
    let end = start.checked_add(part.len())?;
    source
        .get(start..end)
        .filter(|s| std::ptr::eq(s.as_ptr(), part.as_ptr()))
}

/// Builds element text from the pieces the parser reports (text, CDATA,
/// references). A single piece stays as the parser gave it (borrowed when it
/// needed no unescaping); joined pieces are copied into buffers that are
/// reused once text turns out to be only whitespace.
#[derive(Debug, Default)]
pub struct TextBuf {
    spare: Vec<String>,
}

impl TextBuf {
    /// Appends `piece` to `text`.
    pub fn append<'a>(&mut self, text: &mut Cow<'a, str>, piece: Cow<'a, str>) {
        if piece.is_empty() {
            return;
        }
        if text.is_empty() {
            *text = piece;
            return;
        }
        self.owned(text).push_str(&piece);
    }

    /// Appends `ch` to `text`.
    pub fn append_char(&mut self, text: &mut Cow<'_, str>, ch: char) {
        self.owned(text).push(ch);
    }

    /// Ends the text of an element: text that is only whitespace becomes
    /// empty (and its buffer, if any, is kept for reuse).
    pub fn finish(&mut self, text: &mut Cow<'_, str>) {
        if text.is_empty() || !text.trim().is_empty() {
            return;
        }
        if let Cow::Owned(mut buf) = std::mem::replace(text, Cow::Borrowed("")) {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// `text` as an owned buffer (a reused one when it was borrowed).
    fn owned<'t>(&mut self, text: &'t mut Cow<'_, str>) -> &'t mut String {
        if let Cow::Borrowed(b) = *text {
            // Room for a few more pieces, so joining rarely reallocates.
            let mut buf = self
                .spare
                .pop()
                .unwrap_or_else(|| String::with_capacity(2 * b.len() + 16));
            buf.push_str(b);
            *text = Cow::Owned(buf);
        }
        text.to_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_reslices_only_parts_of_the_source() {
        let source = String::from("<a b='c'/>");
        let part = &source[3..6];
        let got = within(&source, part);
        assert_eq!(got, Some("b='"));
        assert!(got.is_some_and(|g| std::ptr::eq(g, part)));
        let other = String::from("b='");
        assert_eq!(within(&source, &other), None);
        assert_eq!(within(&source, &source[10..]), Some(""));
    }

    #[test]
    fn one_piece_stays_borrowed_and_pieces_are_joined() {
        let mut bufs = TextBuf::default();
        let mut text = Cow::Borrowed("");
        bufs.append(&mut text, Cow::Borrowed("x "));
        assert!(matches!(text, Cow::Borrowed("x ")));
        bufs.append_char(&mut text, '>');
        bufs.append(&mut text, Cow::Borrowed(" 1"));
        bufs.append(&mut text, Cow::Borrowed(""));
        assert_eq!(text, "x > 1");
        bufs.finish(&mut text);
        assert_eq!(text, "x > 1");
    }

    #[test]
    fn whitespace_only_text_is_emptied_and_its_buffer_reused() {
        let mut bufs = TextBuf::default();
        let mut text = Cow::Borrowed("\n  ");
        bufs.append(&mut text, Cow::Borrowed("\n"));
        assert!(matches!(text, Cow::Owned(_)));
        bufs.finish(&mut text);
        assert!(matches!(text, Cow::Borrowed("")));
        assert_eq!(bufs.spare.len(), 1);
        let mut next = Cow::Borrowed("a");
        bufs.append(&mut next, Cow::Borrowed("b"));
        assert_eq!(next, "ab");
        assert!(bufs.spare.is_empty());
        let mut single = Cow::Borrowed(" ");
        bufs.finish(&mut single);
        assert_eq!(single, "");
    }
}
