//! First sightings of idempotency keys waiting in memory to be merged into the key table, kept so that finding
//! one costs a hash lookup (and, when a hash matches, a read of the request's row to compare the key) while a merge
//! still takes them in the table's (hash) order.
//!
//! The waiting keys are split into buckets of consecutive hashes (by their top bits): a merge walks the buckets in
//! order and sorts only the ones it takes from. A single ordered map of up to 32k keys cost a walk down a B-tree
//! for every lookup, insert and removal, about 3 % of the server's core at full load.

use std::collections::{HashMap, VecDeque};
use std::ops::RangeInclusive;

use foldhash::fast::RandomState;

/// Buckets of consecutive hashes: about 64 keys each when the most keys wait.
const BUCKET_BITS: u32 = 10;
const BUCKETS: usize = 1 << BUCKET_BITS;

/// A first sighting waiting in memory: the request that carried the key. The key itself is in that request's
/// row, which a lookup reads only when the hash matches, so a waiting key costs a few bytes of memory, not the
/// key's length and an allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Sighting {
    pub(super) id: i64,
}

/// The waiting first sightings, one per key hash.
pub(super) struct WaitingKeys {
    buckets: Vec<Bucket>,
    len: usize,
    /// (id, hash) in the order they were remembered, to find the oldest. Entries replaced or merged since are
    /// left in place and skipped; the front is trimmed as they reach it.
    order: VecDeque<(i64, i64)>,
}

/// The sightings under one range of hashes. Hashed again with a per-process seed: the hashes are of keys that
/// senders choose, and xxh3 has none.
type Bucket = HashMap<i64, Sighting, RandomState>;

/// The bucket of a hash: buckets follow the hashes' order as signed integers, which is the key table's order.
fn bucket_of(hash: i64) -> usize {
    let ordered = u64::from_ne_bytes(hash.to_ne_bytes()) ^ (1 << 63);
    usize::try_from(ordered >> (64 - BUCKET_BITS)).unwrap_or(0)
}

impl WaitingKeys {
    pub(super) fn new() -> WaitingKeys {
        WaitingKeys {
            buckets: (0..BUCKETS).map(|_| Bucket::default()).collect(),
            len: 0,
            order: VecDeque::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn get(&self, hash: i64) -> Option<&Sighting> {
        self.buckets[bucket_of(hash)].get(&hash)
    }

    /// Holds a first sighting, replacing an older one under the same hash. Sightings come in id order.
    pub(super) fn insert(&mut self, hash: i64, sighting: Sighting) {
        self.order.push_back((sighting.id, hash));
        if self.buckets[bucket_of(hash)].insert(hash, sighting).is_none() {
            self.len += 1;
        }
        // Replaced and merged entries stay in `order` until they reach its front; under sustained load about as
        // many as the waiting keys, since merges come round to every hash. Should replacements pile up (one key
        // sent over and over), sweep them out: rarely, since a sweep visits every entry.
        if self.order.len() > 4 * self.len + 4096 {
            let buckets = &self.buckets;
            self.order.retain(|(id, hash)| is_waiting(buckets, *hash, *id));
        }
    }

    /// Removes the sighting under `hash` if it is still the one of request `id`.
    pub(super) fn remove_if(&mut self, hash: i64, id: i64) {
        if is_waiting(&self.buckets, hash, id) {
            self.buckets[bucket_of(hash)].remove(&hash);
            self.len -= 1;
        }
        while let Some((id, hash)) = self.order.front().copied() {
            if is_waiting(&self.buckets, hash, id) {
                break;
            }
            self.order.pop_front();
        }
    }

    pub(super) fn clear(&mut self) {
        for bucket in &mut self.buckets {
            bucket.clear();
        }
        self.len = 0;
        self.order.clear();
    }

    /// Up to `count` sightings in hash order, the next after `after` (or from the smallest, without it), and whether
    /// they reach the last one, so that the next slice starts over. Exactly `count` at most, however
    /// the hashes fall: senders choose the keys, and could put thousands in one bucket.
    pub(super) fn slice(&self, after: Option<i64>, count: usize) -> (Vec<(i64, &Sighting)>, bool) {
        let mut taken = Vec::with_capacity(count.min(self.len));
        let mut bucket = after.map_or(0, bucket_of);
        while bucket < BUCKETS && taken.len() < count {
            let mut here: Vec<(i64, &Sighting)> = self.buckets[bucket]
                .iter()
                .filter(|(hash, _)| after.is_none_or(|after| **hash > after))
                .map(|(hash, sighting)| (*hash, sighting))
                .collect();
            here.sort_unstable_by_key(|(hash, _)| *hash);
            let room = count - taken.len();
            if here.len() > room {
                here.truncate(room);
                taken.extend(here);
                return (taken, false);
            }
            taken.extend(here);
            bucket += 1;
        }
        (taken, bucket >= BUCKETS)
    }

    /// The smallest id waiting outside the hashes `merged`.
    pub(super) fn oldest_outside(&self, merged: Option<&RangeInclusive<i64>>) -> Option<i64> {
        self.order
            .iter()
            .find(|(id, hash)| {
                !merged.is_some_and(|merged| merged.contains(hash)) && is_waiting(&self.buckets, *hash, *id)
            })
            .map(|(id, _)| *id)
    }

    /// Every waiting id; for tests.
    #[cfg(test)]
    pub(super) fn ids(&self) -> Vec<i64> {
        self.buckets
            .iter()
            .flat_map(|bucket| bucket.values().map(|sighting| sighting.id))
            .collect()
    }
}

/// Whether the sighting waiting under `hash` is still the one of request `id`.
fn is_waiting(buckets: &[Bucket], hash: i64, id: i64) -> bool {
    buckets[bucket_of(hash)]
        .get(&hash)
        .is_some_and(|sighting| sighting.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sighting(id: i64) -> Sighting {
        Sighting { id }
    }

    #[test]
    fn buckets_follow_the_order_of_signed_hashes() {
        let hashes = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX / 2, i64::MAX];
        let buckets: Vec<usize> = hashes.iter().map(|hash| bucket_of(*hash)).collect();
        assert!(buckets.windows(2).all(|pair| pair[0] <= pair[1]), "{buckets:?}");
        assert_eq!((buckets[0], buckets[6]), (0, BUCKETS - 1));
    }

    #[test]
    fn slices_walk_the_hashes_in_order_and_come_round_to_the_start() {
        let mut waiting = WaitingKeys::new();
        let hashes: Vec<i64> = (0..4000_i64)
            .map(|n| n.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64))
            .collect();
        for (id, hash) in hashes.iter().enumerate() {
            waiting.insert(*hash, sighting(i64::try_from(id).expect("id")));
        }
        assert_eq!(waiting.len(), hashes.len());
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (slice, reached_end) = waiting.slice(after, 300);
            assert!(slice.len() == 300 || reached_end, "{} taken", slice.len());
            seen.extend(slice.iter().map(|(hash, _)| *hash));
            if reached_end {
                break;
            }
            after = seen.last().copied();
        }
        let mut sorted = hashes.clone();
        sorted.sort_unstable();
        assert_eq!(seen, sorted, "every hash once, in order");
    }

    #[test]
    fn a_slice_stops_at_its_count_inside_a_crowded_bucket() {
        let mut waiting = WaitingKeys::new();
        // Hashes a sender could pick: all in the first bucket.
        for n in 0..5000_i64 {
            waiting.insert(i64::MIN + n, sighting(n));
        }
        let (slice, reached_end) = waiting.slice(None, 64);
        assert_eq!((slice.len(), reached_end), (64, false));
        assert_eq!(slice.last().map(|(hash, _)| *hash), Some(i64::MIN + 63));
        let (next, _) = waiting.slice(Some(i64::MIN + 63), 64);
        assert_eq!(next.first().map(|(hash, _)| *hash), Some(i64::MIN + 64));
    }

    #[test]
    fn the_oldest_is_the_first_remembered_still_waiting() {
        let mut waiting = WaitingKeys::new();
        waiting.insert(10, sighting(1));
        waiting.insert(i64::MIN, sighting(2));
        waiting.insert(10, sighting(3));
        assert_eq!(waiting.len(), 2);
        assert_eq!(waiting.oldest_outside(None), Some(2), "1 was replaced by 3");
        assert_eq!(waiting.oldest_outside(Some(&(i64::MIN..=0))), Some(3), "2 was merged");
        waiting.remove_if(i64::MIN, 99);
        assert_eq!(waiting.len(), 2, "only the sighting of that id is removed");
        waiting.remove_if(i64::MIN, 2);
        assert_eq!((waiting.len(), waiting.oldest_outside(None)), (1, Some(3)));
        assert_eq!(waiting.get(10).map(|sighting| sighting.id), Some(3));
        waiting.clear();
        assert_eq!((waiting.len(), waiting.oldest_outside(None)), (0, None));
    }

    #[test]
    fn replaced_sightings_do_not_pile_up() {
        let mut waiting = WaitingKeys::new();
        for id in 0..100_000 {
            waiting.insert(7, sighting(id));
        }
        assert_eq!(waiting.len(), 1);
        assert!(waiting.order.len() <= 4 + 4096, "{}", waiting.order.len());
        assert_eq!(waiting.oldest_outside(None), Some(99_999));
    }
}
