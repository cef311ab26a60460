//! Capturing a child's output with a size cap: standard output keeps its
//! first bytes, standard error its last ones (where the reason for a failure
//! usually is); what is dropped is counted and marked in the text.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Default cap on captured standard output, bytes.
pub const STDOUT_CAP: usize = 1024 * 1024;
/// Default cap on captured standard error, bytes.
pub const STDERR_CAP: usize = 64 * 1024;

/// Capture caps, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Standard output keeps at most this many (first) bytes.
    pub stdout: usize,
    /// Standard error keeps at most this many (last) bytes.
    pub stderr: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            stdout: STDOUT_CAP,
            stderr: STDERR_CAP,
        }
    }
}

/// Which end of a stream is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The first bytes.
    Head,
    /// The last bytes.
    Tail,
}

/// What was read of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The bytes kept.
    pub bytes: Vec<u8>,
    /// How many bytes were dropped.
    pub dropped: u64,
    /// Which end was kept.
    pub head: bool,
}

impl Captured {
    /// Nothing read yet, keeping the `keep` end.
    pub fn new(keep: Keep) -> Self {
        Captured {
            head: keep == Keep::Head,
            ..Captured::default()
        }
    }

    /// The text (invalid UTF-8 replaced), with a marker when truncated:
    /// `[windlass: N more bytes truncated]` after a head, `[windlass: N
    /// earlier bytes truncated]` before a tail.
    pub fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        match (self.dropped, self.head) {
            (0, _) => text.into_owned(),
            (n, true) => format!("{text}\n[windlass: {n} more bytes truncated]"),
            (n, false) => format!("[windlass: {n} earlier bytes truncated]\n{text}"),
        }
    }

    /// True when bytes were dropped.
    pub fn truncated(&self) -> bool {
        self.dropped > 0
    }

    /// Keeps at most `cap` bytes. Only a tail capture ever holds more (up
    /// to twice the cap while reading); it keeps its last bytes.
    pub fn fit(&mut self, cap: usize) {
        if !self.head && self.bytes.len() > cap {
            let cut = self.bytes.len() - cap;
            self.bytes.drain(..cut);
            self.dropped += cut as u64;
        }
    }
}

/// Reads `r` to its end into `out`, keeping at most `cap` bytes of the end
/// `out` was made for. What was read stays in `out` when the future is
/// dropped part way (the pipe is still held open by a process that left the
/// job's group), so the caller can stop reading at any time (and then
/// calls [`Captured::fit`]).
pub async fn read_into<R: AsyncRead + Unpin>(mut r: R, cap: usize, out: &mut Captured) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if out.head {
            let room = cap.saturating_sub(out.bytes.len()).min(n);
            out.bytes
                .extend_from_slice(chunk.get(..room).unwrap_or_default());
            out.dropped += (n - room) as u64;
        } else {
            out.bytes.extend_from_slice(chunk);
            // Trim in batches: at most twice the cap is held.
            if out.bytes.len() > cap.saturating_mul(2).max(cap + 1) {
                out.fit(cap);
            }
        }
    }
    out.fit(cap);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn head_keeps_the_first_bytes_and_counts_the_rest() {
        let data = b"0123456789".repeat(10);
        let mut c = Captured::new(Keep::Head);
        read_into(&data[..], 15, &mut c).await;
        assert_eq!(c.bytes, b"012345678901234");
        assert_eq!(c.dropped, 85);
        assert!(c.text().ends_with("\n[windlass: 85 more bytes truncated]"));
    }

    #[tokio::test]
    async fn tail_keeps_the_last_bytes() {
        let data = b"0123456789".repeat(10);
        let mut c = Captured::new(Keep::Tail);
        read_into(&data[..], 4, &mut c).await;
        assert_eq!(c.bytes, b"6789");
        assert_eq!(c.dropped, 96);
        assert!(
            c.text()
                .starts_with("[windlass: 96 earlier bytes truncated]\n")
        );
        let mut c = Captured::new(Keep::Tail);
        read_into(&b"abc"[..], 4, &mut c).await;
        assert_eq!((c.text(), c.truncated()), ("abc".to_string(), false));
    }
}
