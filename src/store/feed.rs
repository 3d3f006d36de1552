//! What the store announces after each commit: the changes one transaction made, typed, in order. The live stream
//! (and anything else that follows the store) subscribes to them; how they are shown is its business.

use std::sync::Arc;

use crate::record::Summary;

/// A change committed to the store, as announced on the live feed.
#[derive(Debug)]
pub enum Change {
    /// A request was captured.
    Captured(Arc<Summary>),
    /// A stored request changed after capture (nothing changes one yet: forwarding results will).
    Updated(Arc<Summary>),
    /// One request was deleted.
    Deleted { id: i64 },
    /// Every request was deleted.
    Cleared,
    /// Retention removed every request up to and including `through`.
    Evicted { through: i64 },
}

/// The changes one transaction committed, in order, as the live feed carries them.
#[derive(Debug)]
pub struct Committed {
    pub changes: Vec<Change>,
    /// How many of the changes are inserts, and the ids of the first and last of them (0 when there are none).
    pub inserts: usize,
    pub first_insert: i64,
    pub last_insert: i64,
    /// Whether the batch holds nothing but inserts and, last, possibly an eviction (as every batch of a store at
    /// its `--keep` limit does): a viewer that shows none of its requests can then pass over it whole.
    pub plain: bool,
}

impl Committed {
    pub fn new(changes: Vec<Change>) -> Committed {
        let mut inserts = 0;
        let (mut first_insert, mut last_insert) = (0, 0);
        for change in &changes {
            if let Change::Captured(summary) = change {
                let id = &summary.id;
                if inserts == 0 {
                    first_insert = *id;
                }
                inserts += 1;
                last_insert = *id;
            }
        }
        let before_eviction = match changes.split_last() {
            Some((Change::Evicted { .. }, rest)) => rest,
            _ => &changes[..],
        };
        let plain = before_eviction
            .iter()
            .all(|change| matches!(change, Change::Captured(_)));
        Committed {
            changes,
            inserts,
            first_insert,
            last_insert,
            plain,
        }
    }

    /// The eviction that ends a plain batch, if any.
    pub fn evicted_through(&self) -> Option<i64> {
        match self.changes.last() {
            Some(Change::Evicted { through }) => Some(*through),
            _ => None,
        }
    }

    /// How many of its inserts have ids above `after`.
    pub fn inserts_after(&self, after: i64) -> usize {
        if self.inserts == 0 || self.last_insert <= after {
            0
        } else if self.first_insert > after {
            self.inserts
        } else {
            self.changes
                .iter()
                .filter(|change| matches!(change, Change::Captured(summary) if summary.id > after))
                .count()
        }
    }
}

/// What the live feed carries: one committed batch, shared by every subscriber.
pub type Changes = Arc<Committed>;
