//! The connection ids of one user. Most users hold a single connection, and a one-element hash
//! set still allocates room for four: the common case is stored inline instead.

use std::collections::HashSet;
use std::sync::Arc;

pub(crate) enum UserConns {
    One(Arc<str>),
    Many(HashSet<Arc<str>>),
}

impl UserConns {
    pub(crate) fn insert(&mut self, id: Arc<str>) {
        match self {
            UserConns::One(existing) if *existing == id => {}
            UserConns::One(existing) => {
                let set = HashSet::from([existing.clone(), id]);
                *self = UserConns::Many(set);
            }
            UserConns::Many(set) => {
                set.insert(id);
            }
        }
    }

    /// Removes `id`; returns whether no connection is left.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        match self {
            UserConns::One(existing) => &**existing == id,
            UserConns::Many(set) => {
                set.remove(id);
                set.is_empty()
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            UserConns::One(_) => 1,
            UserConns::Many(set) => set.len(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<str>> {
        let (one, many) = match self {
            UserConns::One(id) => (Some(id), None),
            UserConns::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_from_one_and_empties() {
        let mut c = UserConns::One(Arc::from("a"));
        c.insert(Arc::from("a"));
        assert_eq!(c.len(), 1);
        c.insert(Arc::from("b"));
        assert_eq!(c.len(), 2);
        let mut ids: Vec<_> = c.iter().map(|s| s.to_string()).collect();
        ids.sort();
        assert_eq!(ids, ["a", "b"]);
        assert!(!c.remove("a"));
        assert!(c.remove("b"));
        assert!(!UserConns::One(Arc::from("x")).remove("y"));
        assert!(UserConns::One(Arc::from("x")).remove("x"));
    }
}
