//! Reading a response body with a size cap: the first bytes are kept, the
//! rest is counted and dropped, so a huge (or endless) answer never sits in
//! memory whole.

/// A body read with a cap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    /// The first bytes, at most the cap.
    pub bytes: Vec<u8>,
    /// How many bytes after them were dropped.
    pub dropped: u64,
}

/// Reads the body of `resp`, keeping at most `cap` bytes.
pub async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<Body, reqwest::Error> {
    let mut body = Body::default();
    while let Some(chunk) = resp.chunk().await? {
        let room = cap.saturating_sub(body.bytes.len()).min(chunk.len());
        body.bytes
            .extend_from_slice(chunk.get(..room).unwrap_or_default());
        body.dropped += (chunk.len() - room) as u64;
    }
    Ok(body)
}
