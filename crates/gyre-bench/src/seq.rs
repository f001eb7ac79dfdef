//! Per-subscriber check of one channel's sequence numbers.
//!
//! Every channel has exactly one publisher, which numbers its publications 0, 1, 2, … and
//! awaits each one, so a correct server delivers them to each subscriber in exactly that order.
//! The checker classifies every deviation:
//! * a **gap**: a number arrived while smaller ones were still outstanding (one event per jump);
//! * a **reorder**: an outstanding number arrived late;
//! * a **duplicate**: a number that was already delivered;
//! * a **loss**: a number below the publisher's final count that never arrived (computed at the
//!   end, after the drain grace period).
//!
//! Outstanding numbers are kept as ranges, so a burst of losses costs one entry, and the in-order
//! path touches two integers only.

use std::ops::Range;

/// A bound on stored gap ranges, so a pathological run (every other message lost) cannot use
/// unbounded memory; gaps past it are only counted as lost (a late arrival from one of them is
/// then reported as a duplicate, which is still an anomaly).
const MAX_RANGES: usize = 4096;

#[derive(Debug, Clone, Default)]
pub(crate) struct SeqChecker {
    /// The next number expected in order.
    next: u64,
    /// Numbers below `next` not delivered yet, ascending and disjoint.
    missing: Vec<Range<u64>>,
    /// Outstanding numbers that did not fit into `missing`.
    untracked_missing: u64,
    /// Distinct numbers delivered.
    pub(crate) delivered: u64,
    pub(crate) gaps: u64,
    pub(crate) duplicates: u64,
    pub(crate) reorders: u64,
}

/// What one delivery was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    InOrder,
    Gap,
    Reorder,
    Duplicate,
}

impl Seen {
    /// Whether the number was delivered for the first time.
    pub(crate) fn is_new(self) -> bool {
        self != Seen::Duplicate
    }
}

impl SeqChecker {
    pub(crate) fn observe(&mut self, seq: u64) -> Seen {
        if seq == self.next {
            self.next += 1;
            self.delivered += 1;
            return Seen::InOrder;
        }
        if seq > self.next {
            self.push_missing(self.next..seq);
            self.next = seq + 1;
            self.gaps += 1;
            self.delivered += 1;
            return Seen::Gap;
        }
        match self.missing.iter().position(|r| r.contains(&seq)) {
            Some(i) => {
                let r = self.missing[i].clone();
                match (r.start == seq, r.end == seq + 1) {
                    (true, true) => {
                        self.missing.remove(i);
                    }
                    (true, false) => self.missing[i].start = seq + 1,
                    (false, true) => self.missing[i].end = seq,
                    (false, false) => {
                        self.missing[i].end = seq;
                        self.missing.insert(i + 1, seq + 1..r.end);
                    }
                }
                self.reorders += 1;
                self.delivered += 1;
                Seen::Reorder
            }
            None => {
                self.duplicates += 1;
                Seen::Duplicate
            }
        }
    }

    fn push_missing(&mut self, range: Range<u64>) {
        if self.missing.len() >= MAX_RANGES {
            self.untracked_missing += range.end - range.start;
        } else {
            self.missing.push(range);
        }
    }

    /// Numbers below `published` that never arrived.
    pub(crate) fn lost(&self, published: u64) -> u64 {
        let outstanding: u64 = self
            .missing
            .iter()
            .map(|r| r.end.min(published).saturating_sub(r.start))
            .sum();
        outstanding + self.untracked_missing + published.saturating_sub(self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seqs: &[u64]) -> SeqChecker {
        let mut c = SeqChecker::default();
        for &s in seqs {
            c.observe(s);
        }
        c
    }

    #[test]
    fn in_order_is_clean() {
        let c = run(&[0, 1, 2, 3]);
        assert_eq!((c.delivered, c.gaps, c.duplicates, c.reorders), (4, 0, 0, 0));
        assert_eq!(c.lost(4), 0);
        // The publisher got one more out that never arrived.
        assert_eq!(c.lost(5), 1);
    }

    #[test]
    fn gap_then_loss() {
        let c = run(&[0, 3, 4]);
        assert_eq!((c.delivered, c.gaps), (3, 1));
        assert_eq!(c.lost(5), 2);
    }

    #[test]
    fn late_arrivals_are_reorders_not_losses() {
        let mut c = run(&[0, 5]);
        assert_eq!(c.observe(3), Seen::Reorder);
        assert_eq!(c.observe(1), Seen::Reorder);
        assert_eq!(c.observe(4), Seen::Reorder);
        assert_eq!(c.observe(2), Seen::Reorder);
        assert_eq!(c.missing, vec![]);
        assert_eq!((c.delivered, c.gaps, c.reorders), (6, 1, 4));
        assert_eq!(c.lost(6), 0);
    }

    #[test]
    fn duplicates() {
        let mut c = run(&[0, 1, 3]);
        assert_eq!(c.observe(1), Seen::Duplicate);
        assert_eq!(c.observe(3), Seen::Duplicate);
        assert_eq!(c.observe(2), Seen::Reorder);
        assert_eq!(c.observe(2), Seen::Duplicate);
        assert_eq!((c.delivered, c.duplicates), (4, 3));
        assert_eq!(c.lost(4), 0);
    }

    #[test]
    fn nothing_received() {
        let c = SeqChecker::default();
        assert_eq!(c.lost(10), 10);
        assert_eq!(c.lost(0), 0);
    }

    #[test]
    fn range_storage_is_bounded() {
        let mut c = SeqChecker::default();
        for i in 0..(MAX_RANGES as u64 + 100) {
            c.observe(i * 2 + 1);
        }
        assert_eq!(c.missing.len(), MAX_RANGES);
        let n = MAX_RANGES as u64 + 100;
        assert_eq!(c.lost(2 * n), n);
    }
}
