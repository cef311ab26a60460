//! The parts of a template being parsed, kept on the stack while few.

use super::Part;

/// Parts collected on the stack while parsing, so the final array is
/// allocated once at its exact size (templates rarely have more).
const INLINE_PARTS: usize = 12;

/// The parts of a template being parsed: inline up to [`INLINE_PARTS`],
/// then in a vector.
pub(super) struct Parts {
    inline: [Part; INLINE_PARTS],
    len: usize,
    /// Every part once there are more than [`INLINE_PARTS`].
    spill: Option<Vec<Part>>,
}

impl Parts {
    pub(super) fn new() -> Parts {
        Parts {
            inline: [Part::Escape(0); INLINE_PARTS],
            len: 0,
            spill: None,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.spill.as_ref().map_or(self.len, Vec::len)
    }

    pub(super) fn push(&mut self, part: Part) {
        match &mut self.spill {
            Some(spill) => spill.push(part),
            None => match self.inline.get_mut(self.len) {
                Some(slot) => {
                    *slot = part;
                    self.len += 1;
                }
                None => {
                    let mut spill = Vec::with_capacity(INLINE_PARTS * 2);
                    spill.extend_from_slice(&self.inline);
                    spill.push(part);
                    self.spill = Some(spill);
                }
            },
        }
    }

    pub(super) fn as_mut_slice(&mut self) -> &mut [Part] {
        match &mut self.spill {
            Some(spill) => spill,
            None => self.inline.get_mut(..self.len).unwrap_or_default(),
        }
    }

    pub(super) fn remove(&mut self, at: usize) {
        match &mut self.spill {
            Some(spill) => {
                if at < spill.len() {
                    spill.remove(at);
                }
            }
            None => {
                if let Some(tail) = self.inline.get_mut(at..self.len) {
                    tail.rotate_left(1);
                    self.len -= 1;
                }
            }
        }
    }

    pub(super) fn finish(self) -> Box<[Part]> {
        match self.spill {
            Some(spill) => spill.into_boxed_slice(),
            None => Box::from(self.inline.get(..self.len).unwrap_or_default()),
        }
    }
}
