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
}

/// Reads `r` to its end, keeping at most `cap` bytes of the `keep` end.
pub async fn read_capped<R: AsyncRead + Unpin>(mut r: R, cap: usize, keep: Keep) -> Captured {
    let mut out = Captured {
        head: keep == Keep::Head,
        ..Captured::default()
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default();
        match keep {
            Keep::Head => {
                let room = cap.saturating_sub(out.bytes.len()).min(n);
                out.bytes
                    .extend_from_slice(chunk.get(..room).unwrap_or_default());
                out.dropped += (n - room) as u64;
            }
            Keep::Tail => {
                out.bytes.extend_from_slice(chunk);
                // Trim in batches: at most twice the cap is held.
                if out.bytes.len() > cap.saturating_mul(2).max(cap + 1) {
                    let cut = out.bytes.len() - cap;
                    out.bytes.drain(..cut);
                    out.dropped += cut as u64;
                }
            }
        }
    }
    if keep == Keep::Tail && out.bytes.len() > cap {
        let cut = out.bytes.len() - cap;
        out.bytes.drain(..cut);
        out.dropped += cut as u64;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn head_keeps_the_first_bytes_and_counts_the_rest() {
        let data = b"0123456789".repeat(10);
        let c = read_capped(&data[..], 15, Keep::Head).await;
        assert_eq!(c.bytes, b"012345678901234");
        assert_eq!(c.dropped, 85);
        assert!(c.text().ends_with("\n[windlass: 85 more bytes truncated]"));
    }

    #[tokio::test]
    async fn tail_keeps_the_last_bytes() {
        let data = b"0123456789".repeat(10);
        let c = read_capped(&data[..], 4, Keep::Tail).await;
        assert_eq!(c.bytes, b"6789");
        assert_eq!(c.dropped, 96);
        assert!(
            c.text()
                .starts_with("[windlass: 96 earlier bytes truncated]\n")
        );
        let c = read_capped(&b"abc"[..], 4, Keep::Tail).await;
        assert_eq!((c.text(), c.truncated()), ("abc".to_string(), false));
    }
}
