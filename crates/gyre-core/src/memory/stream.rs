//! One channel's in-memory history stream: consecutive offsets ending at `top`, an epoch naming
//! this incarnation of the stream, and the two expiries (items, meta).

use std::collections::VecDeque;
use std::sync::Arc;

use rand::Rng;
use tokio::time::Instant;

use crate::broker::StreamPosition;
use gyre_protocol::Publication;

/// A fresh epoch: 8 random ASCII letters, as the reference generates them.
pub(crate) fn generate_epoch() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| LETTERS[rng.random_range(0..LETTERS.len())] as char)
        .collect()
}

pub(crate) struct Stream {
    top: u64,
    epoch: String,
    /// Publications with offsets `top - len + 1 ..= top`.
    items: VecDeque<Arc<Publication>>,
    version: u64,
    version_epoch: String,
    /// History TTL: items are dropped (top and epoch kept) when nothing was published for this long.
    pub(crate) items_expire_at: Option<Instant>,
    /// Meta TTL: the whole stream is forgotten after this long without publishes or reads.
    pub(crate) meta_expire_at: Option<Instant>,
}

impl Stream {
    pub(crate) fn new() -> Stream {
        Stream {
            top: 0,
            epoch: generate_epoch(),
            items: VecDeque::new(),
            version: 0,
            version_epoch: String::new(),
            items_expire_at: None,
            meta_expire_at: None,
        }
    }

    pub(crate) fn position(&self) -> StreamPosition {
        StreamPosition {
            offset: self.top,
            epoch: self.epoch.clone(),
        }
    }

    pub(crate) fn meta_expired(&self, now: Instant) -> bool {
        self.meta_expire_at.is_some_and(|t| t <= now)
    }

    pub(crate) fn items_expired(&self, now: Instant) -> bool {
        self.items_expire_at.is_some_and(|t| t <= now)
    }

    /// Whether a publication with this version is older than (or the same as) the latest one.
    pub(crate) fn is_stale_version(&self, version: u64, version_epoch: &str) -> bool {
        (version_epoch.is_empty() || version_epoch == self.version_epoch) && version <= self.version
    }

    pub(crate) fn last(&self) -> Option<Arc<Publication>> {
        self.items.back().cloned()
    }

    /// Appends a publication, stamping its offset, and trims the stream to `size` items.
    pub(crate) fn add(
        &mut self,
        mut publication: Publication,
        size: usize,
        version: u64,
        version_epoch: &str,
    ) -> Arc<Publication> {
        self.top += 1;
        publication.offset = self.top;
        let publication = Arc::new(publication);
        self.items.push_back(publication.clone());
        while self.items.len() > size {
            self.items.pop_front();
        }
        self.version = version;
        self.version_epoch = version_epoch.to_string();
        publication
    }

    /// Drops the items; offset and epoch stay so that positions remain comparable.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }

    fn first_offset(&self) -> u64 {
        self.top + 1 - self.items.len() as u64
    }

    /// Reads publications. `limit`: 0 = none (only the position), negative = all.
    /// `since` is exclusive: newer than it, or older when `reverse`.
    pub(crate) fn get(
        &self,
        since: Option<&StreamPosition>,
        limit: i32,
        reverse: bool,
    ) -> Vec<Arc<Publication>> {
        let len = self.items.len();
        let start_index = match since {
            None => {
                if reverse {
                    len.checked_sub(1)
                } else {
                    Some(0)
                }
            }
            Some(since) => {
                if !reverse && since.offset == self.top && since.epoch == self.epoch {
                    return Vec::new();
                }
                let start = if reverse {
                    since.offset.wrapping_sub(1)
                } else {
                    since.offset.wrapping_add(1)
                };
                if start > self.top {
                    return Vec::new();
                }
                if start >= self.first_offset() && len > 0 {
                    Some((start - self.first_offset()) as usize)
                } else if reverse {
                    // The requested start is no longer kept: nothing older can be served.
                    None
                } else {
                    // Evicted start: serve from the oldest item still kept.
                    Some(0)
                }
            }
        };
        let Some(start_index) = start_index else {
            return Vec::new();
        };
        if len == 0 || limit == 0 {
            return Vec::new();
        }
        let max = if limit < 0 { len } else { limit as usize };
        if reverse {
            self.items
                .range(..=start_index)
                .rev()
                .take(max)
                .cloned()
                .collect()
        } else {
            self.items.range(start_index..).take(max).cloned().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_with(n: u64, size: usize) -> Stream {
        let mut s = Stream::new();
        for _ in 0..n {
            s.add(Publication::default(), size, 0, "");
        }
        s
    }

    fn offsets(pubs: &[Arc<Publication>]) -> Vec<u64> {
        pubs.iter().map(|p| p.offset).collect()
    }

    fn since(s: &Stream, offset: u64) -> StreamPosition {
        StreamPosition {
            offset,
            epoch: s.epoch.clone(),
        }
    }

    #[test]
    fn epoch_is_eight_letters() {
        let e = generate_epoch();
        assert_eq!(e.len(), 8);
        assert!(e.chars().all(|c| c.is_ascii_alphabetic()));
    }

    #[test]
    fn read_without_since() {
        let s = stream_with(5, 3);
        assert_eq!(s.position().offset, 5);
        assert!(s.get(None, 0, false).is_empty());
        assert_eq!(offsets(&s.get(None, -1, false)), vec![3, 4, 5]);
        assert_eq!(offsets(&s.get(None, 2, false)), vec![3, 4]);
        assert_eq!(offsets(&s.get(None, 2, true)), vec![5, 4]);
    }

    #[test]
    fn read_since_is_exclusive() {
        let s = stream_with(10, 10);
        assert_eq!(offsets(&s.get(Some(&since(&s, 7)), -1, false)), vec![8, 9, 10]);
        assert_eq!(offsets(&s.get(Some(&since(&s, 4)), 2, true)), vec![3, 2]);
        assert!(s.get(Some(&since(&s, 10)), -1, false).is_empty());
        assert!(s.get(Some(&since(&s, 0)), -1, true).is_empty());
        assert_eq!(
            offsets(&s.get(Some(&since(&s, 11)), -1, true)),
            vec![10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
        );
    }

    #[test]
    fn evicted_since() {
        let s = stream_with(10, 3);
        // Forward from an evicted offset serves what is left; reverse serves nothing.
        assert_eq!(offsets(&s.get(Some(&since(&s, 2)), -1, false)), vec![8, 9, 10]);
        assert!(s.get(Some(&since(&s, 5)), -1, true).is_empty());
    }

    #[test]
    fn versions() {
        let mut s = Stream::new();
        s.add(Publication::default(), 10, 5, "a");
        assert!(s.is_stale_version(5, "a"));
        assert!(s.is_stale_version(4, ""));
        assert!(!s.is_stale_version(6, "a"));
        assert!(!s.is_stale_version(1, "b"));
    }
}
