//! A set of u64 kept as disjoint inclusive ranges: sequences seen, or missing.

use std::collections::BTreeMap;
use std::fmt;

/// Disjoint, non-adjacent inclusive ranges `start..=end`, ordered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet {
    ranges: BTreeMap<u64, u64>,
}

impl RangeSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n`; returns false if it was already present. The common case,
    /// `n` right after a range, extends that range in place.
    pub fn insert(&mut self, n: u64) -> bool {
        let below = self.ranges.range(..=n).next_back().map(|(&s, &e)| (s, e));
        if below.is_some_and(|(_, e)| e >= n) {
            return false;
        }
        let joined_end = n.checked_add(1).and_then(|m| self.ranges.remove(&m)).unwrap_or(n);
        match below {
            Some((start, e)) if e + 1 == n => {
                self.ranges.insert(start, joined_end);
            }
            _ => {
                self.ranges.insert(n, joined_end);
            }
        }
        true
    }

    /// Adds every number of `start..=end`.
    pub fn insert_range(&mut self, start: u64, end: u64) {
        for n in start..=end {
            self.insert(n);
        }
    }

    pub fn contains(&self, n: u64) -> bool {
        self.ranges.range(..=n).next_back().is_some_and(|(_, &e)| e >= n)
    }

    /// How many numbers are in the set.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s + 1).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges, in order.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&s, &e)| (s, e))
    }

    /// Largest number present.
    pub fn max(&self) -> Option<u64> {
        self.ranges.values().next_back().copied()
    }

    /// The numbers in `self` that are not in `other` (e.g. acknowledged and never read).
    pub fn difference(&self, other: &RangeSet) -> RangeSet {
        let mut out = RangeSet::new();
        for (a, b) in self.ranges() {
            // Pieces from different ranges of `self` are separated by numbers not
            // in `self`, so they stay disjoint and non-adjacent.
            out.ranges.extend(other.gaps(a, b).ranges());
        }
        out
    }

    /// The numbers of `lo..=hi` that are *not* in the set, as ranges.
    pub fn gaps(&self, lo: u64, hi: u64) -> RangeSet {
        let mut out = RangeSet::new();
        if lo > hi {
            return out;
        }
        let mut next = lo;
        for (s, e) in self.ranges() {
            if e < next {
                continue;
            }
            if s > hi {
                break;
            }
            if s > next {
                out.ranges.insert(next, s - 1);
            }
            next = e.saturating_add(1);
            if e >= hi {
                return out;
            }
        }
        if next <= hi {
            out.ranges.insert(next, hi);
        }
        out
    }
}

impl fmt::Display for RangeSet {
    /// `1-3,7,9-10`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.ranges().map(|(s, e)| if s == e { s.to_string() } else { format!("{s}-{e}") }).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_neighbours_and_reports_duplicates() {
        let mut r = RangeSet::new();
        for n in [5, 3, 4, 1, 9] {
            assert!(r.insert(n));
        }
        assert!(!r.insert(4));
        assert_eq!(r.to_string(), "1,3-5,9");
        assert_eq!(r.len(), 5);
        assert!(r.insert(2));
        assert_eq!(r.to_string(), "1-5,9");
    }

    #[test]
    fn gaps_are_exact() {
        let mut r = RangeSet::new();
        r.insert_range(1, 3);
        r.insert_range(7, 8);
        r.insert(10);
        assert_eq!(r.gaps(1, 12).to_string(), "4-6,9,11-12");
        assert_eq!(r.gaps(1, 3).to_string(), "");
        assert_eq!(r.gaps(2, 7).to_string(), "4-6");
        assert_eq!(RangeSet::new().gaps(1, 4).to_string(), "1-4");
    }

    #[test]
    fn difference_is_exact() {
        let mut acked = RangeSet::new();
        acked.insert_range(1, 10);
        acked.insert_range(20, 25);
        let mut read = RangeSet::new();
        read.insert_range(3, 21);
        read.insert(25);
        assert_eq!(acked.difference(&read).to_string(), "1-2,22-24");
        assert!(read.difference(&read).is_empty());
    }

    #[test]
    fn max_is_the_largest_member() {
        let mut r = RangeSet::new();
        assert_eq!(r.max(), None);
        r.insert_range(3, 7);
        r.insert(12);
        r.insert(1);
        assert_eq!(r.max(), Some(12));
    }

    #[test]
    fn handles_the_extremes() {
        let mut r = RangeSet::new();
        assert!(r.insert(u64::MAX));
        assert!(r.insert(0));
        assert!(r.contains(u64::MAX) && r.contains(0) && !r.contains(1));
    }
}
