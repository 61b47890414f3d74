//! The IUDs an import has read so far, in a Bloom filter: a few bits per row instead of a hash set
//! that grows with the file (mypay.md §2.4 wants an IUD unique in the file).
//!
//! It may answer "seen" for an IUD that was not (rarely: the filter is sized for the file), never
//! the other way round. The import confirms every "seen" exactly (`flows::import`), so a false
//! alarm costs one look-up and changes no result.

use std::hash::BuildHasher;

/// Bits per expected row: with 4 probes, about 1 false alarm in 5,000 IUDs at the expected size.
const BITS_PER_ROW: u64 = 32;
/// The shortest row worth sizing for (a 1_4 row with its mandatory fields is longer).
const SHORTEST_ROW_BYTES: u64 = 100;
const MIN_BITS: u64 = 1 << 16;
/// 16 MiB at most, whatever size the ZIP declares: past it, false alarms only grow more frequent.
const MAX_BITS: u64 = 1 << 27;
const PROBES: u64 = 4;

/// IUDs seen so far in one file.
pub(super) struct SeenIuds {
    words: Vec<u64>,
    /// The number of bits minus one (a power of two minus one).
    mask: u64,
    hasher: std::hash::RandomState,
}

impl SeenIuds {
    /// A filter for a CSV of `declared_bytes` (as its ZIP entry declares it).
    pub(super) fn for_csv_of(declared_bytes: u64) -> SeenIuds {
        let rows = declared_bytes / SHORTEST_ROW_BYTES + 1;
        let bits = rows.saturating_mul(BITS_PER_ROW).clamp(MIN_BITS, MAX_BITS).next_power_of_two();
        let words = usize::try_from(bits / 64).unwrap_or(1 << 20);
        SeenIuds { words: vec![0; words], mask: bits - 1, hasher: std::hash::RandomState::new() }
    }

    /// Notes `iud`; true if it may have been noted before.
    pub(super) fn insert(&mut self, iud: &str) -> bool {
        let hash = self.hasher.hash_one(iud);
        // Double hashing: probe i at h1 + i * h2, h2 odd so the probes differ.
        let (h1, h2) = (hash, hash.rotate_left(32) | 1);
        let mut seen = true;
        for i in 0..PROBES {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) & self.mask;
            let (word, mask) = (usize::try_from(bit / 64).unwrap_or(0), 1u64 << (bit % 64));
            if let Some(w) = self.words.get_mut(word) {
                seen &= *w & mask != 0;
                *w |= mask;
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn a_repeat_is_always_seen_and_false_alarms_are_rare() {
        let rows = 200_000;
        let mut seen = SeenIuds::for_csv_of(rows * 190);
        let mut false_alarms = 0;
        for i in 0..rows {
            if seen.insert(&format!("IUD-{i:09}")) {
                false_alarms += 1;
            }
        }
        for i in (0..rows).step_by(997) {
            assert!(seen.insert(&format!("IUD-{i:09}")), "a repeated IUD must be seen");
        }
        assert!(false_alarms < 50, "{false_alarms} false alarms in {rows} IUDs");
        // A ZIP declaring a huge CSV gets a bounded filter.
        assert_eq!(SeenIuds::for_csv_of(u64::MAX).words.len() as u64, MAX_BITS / 64);
        assert_eq!(SeenIuds::for_csv_of(0).words.len() as u64, MIN_BITS / 64);
    }
}
