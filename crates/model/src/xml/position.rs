//! Byte offset → 1-based line/column, through an index of line starts built
//! on first use.

use crate::graph::Position;
use std::cell::OnceCell;

/// Maps byte offsets of one source text to line and column.
#[derive(Debug)]
pub struct LineIndex<'s> {
    source: &'s str,
    starts: OnceCell<Vec<usize>>,
}

impl<'s> LineIndex<'s> {
    /// An index over `source`; the line table is built on the first lookup.
    pub fn new(source: &'s str) -> Self {
        LineIndex {
            source,
            starts: OnceCell::new(),
        }
    }

    fn starts(&self) -> &[usize] {
        self.starts.get_or_init(|| {
            let mut v = vec![0];
            v.extend(self.source.match_indices('\n').map(|(i, _)| i + 1));
            v
        })
    }

    /// The position of byte `offset` (clamped to the text); the column counts
    /// characters, not bytes.
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.source.len());
        let starts = self.starts();
        let line = starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = starts.get(line).copied().unwrap_or(0);
        let column = self
            .source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Position {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let idx = LineIndex::new("ab\ncdé\nx");
        assert_eq!(idx.position(0), Position { line: 1, column: 1 });
        assert_eq!(idx.position(1), Position { line: 1, column: 2 });
        assert_eq!(idx.position(3), Position { line: 2, column: 1 });
        assert_eq!(idx.position(7), Position { line: 2, column: 4 });
        assert_eq!(idx.position(8), Position { line: 3, column: 1 });
        assert_eq!(idx.position(999), Position { line: 3, column: 2 });
    }
}
