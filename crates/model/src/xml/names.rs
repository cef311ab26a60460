//! Interning of element and attribute names while reading one document.
//!
//! A BPMN document repeats a small vocabulary of names thousands of times;
//! each distinct name is allocated once and shared.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// The distinct names seen so far in one document.
#[derive(Debug, Default)]
pub struct Names {
    seen: HashSet<Rc<str>, BuildHasherDefault<NameHasher>>,
}

/// FNV-1a: names are short and come from the document being read, and a
/// set lives only while one document is read, so a fast hash is enough.
#[derive(Debug)]
pub struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Names {
    /// The shared copy of `name`, allocated on its first use.
    pub fn get(&mut self, name: &str) -> Rc<str> {
        if let Some(known) = self.seen.get(name) {
            return Rc::clone(known);
        }
        let fresh: Rc<str> = Rc::from(name);
        self.seen.insert(Rc::clone(&fresh));
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_allocation() {
        let mut names = Names::default();
        let a = names.get("bpmn:task");
        let b = names.get("bpmn:task");
        let c = names.get("task");
        assert!(Rc::ptr_eq(&a, &b));
        assert_eq!(&*c, "task");
        assert!(!Rc::ptr_eq(&a, &c));
    }
}
