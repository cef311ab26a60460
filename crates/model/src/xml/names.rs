//! Interning of element and attribute names while reading one document.
//!
//! A BPMN document repeats a small vocabulary of names thousands of times;
//! each distinct name is allocated once and shared.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// The distinct names seen so far in one document: each qualified name
/// with its local part.
#[derive(Debug, Default)]
pub struct Names {
    seen: HashMap<Rc<str>, Rc<str>, BuildHasherDefault<NameHasher>>,
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
    /// The shared copies of a qualified name and its local part (`local`
    /// must be the part of `qname` after any prefix), allocated on first use.
    pub fn get(&mut self, qname: &str, local: &str) -> (Rc<str>, Rc<str>) {
        if let Some((q, l)) = self.seen.get_key_value(qname) {
            return (Rc::clone(q), Rc::clone(l));
        }
        let q: Rc<str> = Rc::from(qname);
        let l = if local == qname {
            Rc::clone(&q)
        } else {
            Rc::from(local)
        };
        self.seen.insert(Rc::clone(&q), Rc::clone(&l));
        (q, l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_allocation() {
        let mut names = Names::default();
        let (q1, l1) = names.get("bpmn:task", "task");
        let (q2, l2) = names.get("bpmn:task", "task");
        assert!(Rc::ptr_eq(&q1, &q2) && Rc::ptr_eq(&l1, &l2));
        assert_eq!((&*q1, &*l1), ("bpmn:task", "task"));
        let (q3, l3) = names.get("task", "task");
        assert!(Rc::ptr_eq(&q3, &l3));
        assert!(!Rc::ptr_eq(&l1, &l3));
    }
}
