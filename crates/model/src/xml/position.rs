//! Byte offset → 1-based line/column, through an index built on first use:
//! the byte offset of every line start, and the number of characters before
//! every [`BLOCK`]-byte block.
//!
//! A column counts characters from the start of its line. Counting them
//! from the line start on every lookup costs the length of the line, so a
//! document written on one line (as minifiers write it) cost O(n²) over all
//! its elements. With the block table a lookup counts at most two partial
//! blocks: characters before `offset` minus characters before the line
//! start, each a table entry plus a scan of less than [`BLOCK`] bytes.

use crate::graph::Position;
use std::cell::OnceCell;

/// Bytes per block of the character-count table.
pub const BLOCK: usize = 256;

/// Maps byte offsets of one source text to line and column.
#[derive(Debug)]
pub struct LineIndex<'s> {
    source: &'s str,
    table: OnceCell<Table>,
}

/// The index proper, built on the first lookup.
#[derive(Debug)]
struct Table {
    /// Byte offset of each line's first byte; `starts[0]` is 0.
    starts: Vec<usize>,
    /// `chars_before[i]`: characters in `source[..i * BLOCK]`; empty for
    /// an ASCII source, where characters are bytes.
    chars_before: Vec<usize>,
}

/// Whether `b` begins a UTF-8 character (is not a continuation byte).
fn starts_char(b: u8) -> bool {
    b & 0xC0 != 0x80
}

/// Characters beginning in `bytes` (valid UTF-8 cut anywhere; at most
/// [`BLOCK`] bytes, so a 16-bit sum, which the compiler can vectorize,
/// cannot overflow).
fn count_chars(bytes: &[u8]) -> usize {
    let in_block: u16 = bytes
        .iter()
        .take(BLOCK)
        .map(|&b| u16::from(starts_char(b)))
        .sum();
    usize::from(in_block)
}

impl<'s> LineIndex<'s> {
    /// An index over `source`; the tables are built on the first lookup.
    pub fn new(source: &'s str) -> Self {
        LineIndex {
            source,
            table: OnceCell::new(),
        }
    }

    fn table(&self) -> &Table {
        self.table.get_or_init(|| {
            let bytes = self.source.as_bytes();
            let mut starts = vec![0];
            starts.extend(self.source.match_indices('\n').map(|(i, _)| i + 1));
            let mut chars_before = Vec::new();
            if !bytes.is_ascii() {
                chars_before.reserve(bytes.len() / BLOCK + 1);
                let mut total = 0;
                chars_before.push(0);
                for block in bytes.chunks(BLOCK) {
                    total += count_chars(block);
                    chars_before.push(total);
                }
            }
            Table {
                starts,
                chars_before,
            }
        })
    }

    /// Characters in `source[..offset]` (`offset` within the source); adds
    /// the bytes it scanned to `scanned`.
    fn chars_before(&self, table: &Table, offset: usize, scanned: &mut usize) -> usize {
        let block = offset / BLOCK;
        let from = block * BLOCK;
        let before = table.chars_before.get(block).copied().unwrap_or(0);
        before + self.count_between(from, offset, scanned)
    }

    /// Characters beginning in `source[from..to]` (0 when out of range);
    /// adds the bytes it scanned to `scanned`.
    fn count_between(&self, from: usize, to: usize, scanned: &mut usize) -> usize {
        let bytes = self.source.as_bytes().get(from..to).unwrap_or_default();
        *scanned += bytes.len();
        count_chars(bytes)
    }

    /// The position of byte `offset` (clamped to the text); the column counts
    /// characters, not bytes.
    pub fn position(&self, offset: usize) -> Position {
        self.position_and_scan(offset).0
    }

    /// [`position`](Self::position), and how many bytes of the source the
    /// lookup scanned (at most two partial blocks: what keeps lookups on a
    /// long line from costing the line).
    fn position_and_scan(&self, offset: usize) -> (Position, usize) {
        let mut scanned = 0;
        let offset = offset.min(self.source.len());
        let table = self.table();
        let line = table
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = table.starts.get(line).copied().unwrap_or(0);
        let column = if table.chars_before.is_empty() {
            offset - start
        } else if start / BLOCK == offset / BLOCK {
            // One partial block: count between the two directly.
            self.count_between(start, offset, &mut scanned)
        } else {
            self.chars_before(table, offset, &mut scanned)
                - self.chars_before(table, start, &mut scanned)
        };
        let position = Position {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        };
        (position, scanned)
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

    /// The column as the old lookup computed it: characters counted from
    /// the line start.
    fn slow(source: &str, offset: usize) -> Position {
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[start..offset].chars().count() + 1;
        Position {
            line: u32::try_from(line).unwrap(),
            column: u32::try_from(column).unwrap(),
        }
    }

    #[test]
    fn columns_across_blocks_count_characters_of_every_width() {
        // Lines longer than several blocks, characters of 1 to 4 bytes that
        // straddle block edges, and short lines between them.
        let mut source = String::new();
        for i in 0..3 * BLOCK {
            source.push(['a', 'é', '€', '𝄞'][i % 4]);
            if i % 500 == 499 {
                source.push('\n');
            }
        }
        source.push_str("\n\nend");
        let idx = LineIndex::new(&source);
        for (offset, _) in source.char_indices() {
            assert_eq!(idx.position(offset), slow(&source, offset), "at {offset}");
        }
        assert_eq!(idx.position(source.len()), slow(&source, source.len()));
    }

    #[test]
    fn ascii_text_counts_bytes() {
        let mut source = String::new();
        for i in 0..4 * BLOCK {
            source.push(if i % 700 == 699 { '\n' } else { 'x' });
        }
        let idx = LineIndex::new(&source);
        for offset in (0..=source.len()).rev() {
            assert_eq!(idx.position(offset), slow(&source, offset), "at {offset}");
        }
    }

    #[test]
    fn lookups_in_any_order_agree() {
        let source = "x".repeat(5 * BLOCK) + "\n" + &"ü".repeat(3 * BLOCK);
        let idx = LineIndex::new(&source);
        let offsets: Vec<usize> = source.char_indices().map(|(i, _)| i).rev().collect();
        for offset in offsets.into_iter().step_by(7) {
            assert_eq!(idx.position(offset), slow(&source, offset), "at {offset}");
        }
    }

    /// Defect 7a of the reliability probe: each lookup counted the
    /// characters from its line start, so on a one-line document every
    /// element cost the whole line (O(n²) over a document). Now a lookup
    /// scans at most two partial blocks, wherever it falls on the line.
    #[test]
    fn a_lookup_on_a_long_line_does_not_rescan_the_line() {
        let source = "é".repeat(4_000_000);
        let idx = LineIndex::new(&source);
        let end = source.len();
        for back in 0..2_000 {
            let offset = end - 2 * back;
            let column = u32::try_from(4_000_001 - back).unwrap();
            let (position, scanned) = idx.position_and_scan(offset);
            assert_eq!(position, Position { line: 1, column });
            assert!(
                scanned < 2 * BLOCK,
                "a lookup at byte {offset} scanned {scanned} bytes"
            );
        }
    }
}
