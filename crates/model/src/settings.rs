//! [`SettingMap`]: a small map from setting names to values, sorted by name.
//!
//! Tasks carry a handful of settings at most, and a large model has thousands
//! of tasks: a sorted vector sized to its content holds them in a fraction of
//! the memory of a `BTreeMap` (whose first node alone has room for eleven
//! entries), with the same reading interface (`get`, `iter`, `for (k, v) in
//! &map`, ordered by key) and the same serialized form (a JSON object).

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Settings by name, in name order; inserting an existing name replaces its
/// value.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingMap<V> {
    entries: Vec<(Box<str>, V)>,
}

impl<V> Default for SettingMap<V> {
    fn default() -> Self {
        SettingMap {
            entries: Vec::new(),
        }
    }
}

impl<V> SettingMap<V> {
    /// An empty map.
    pub const fn new() -> Self {
        SettingMap {
            entries: Vec::new(),
        }
    }

    /// Sets `key` to `value`; returns the value it replaces, if any.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.search(&key) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|slot| std::mem::replace(&mut slot.1, value)),
            Err(i) => {
                // Exact growth: settings are few and kept for the life of
                // the definition.
                self.entries.reserve_exact(1);
                self.entries.insert(i, (key.into_boxed_str(), value));
                None
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        let i = self.search(key).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// True when `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.search(key).is_ok()
    }

    /// Number of settings.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no setting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The settings in name order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            inner: self.entries.iter(),
        }
    }

    /// The names in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| &**k)
    }

    /// The values in name order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    fn search(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| (**k).cmp(key))
    }
}

/// Iterator over `(&name, &value)` in name order.
#[derive(Debug, Clone)]
pub struct Iter<'a, V> {
    inner: std::slice::Iter<'a, (Box<str>, V)>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a str, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (&**k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

impl<'a, V> IntoIterator for &'a SettingMap<V> {
    type Item = (&'a str, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

impl<V> FromIterator<(String, V)> for SettingMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(items: I) -> Self {
        let mut map = SettingMap::new();
        for (k, v) in items {
            map.insert(k, v);
        }
        map
    }
}

impl<V: Serialize> Serialize for SettingMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_like_a_btree_map() {
        let pairs = [("b", 1), ("a", 2), ("c", 3), ("a", 4), ("b", 5)];
        let mut ours = SettingMap::new();
        let mut std_map = BTreeMap::new();
        for (k, v) in pairs {
            assert_eq!(
                ours.insert(k.to_string(), v),
                std_map.insert(k.to_string(), v)
            );
        }
        assert_eq!(ours.len(), std_map.len());
        let a: Vec<_> = ours.iter().collect();
        let b: Vec<_> = std_map.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(a, b);
        assert_eq!(ours.get("a"), Some(&4));
        assert_eq!(ours.get("z"), None);
        assert!(ours.contains_key("c") && !ours.contains_key("d"));
        assert_eq!(ours.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(ours.values().copied().collect::<Vec<_>>(), [4, 5, 3]);
    }

    #[test]
    fn serializes_as_an_object_in_key_order() {
        let map: SettingMap<String> = [("z", "1"), ("a", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"a":"2","z":"1"}"#);
        let mut seen = Vec::new();
        for (k, v) in &map {
            seen.push(format!("{k}={v}"));
        }
        assert_eq!(seen, ["a=2", "z=1"]);
        assert!(SettingMap::<u8>::default().is_empty());
    }
}
