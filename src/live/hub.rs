//! The hub between the store's feed and the viewers. One task takes each committed batch from the store and hands
//! it on with room for its rendering, so that a batch is turned into text at most once however many viewers send
//! it: a thousand viewers each formatting the same events took the core from capture.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::broadcast::{self, error::RecvError};

use super::event::LiveEvent;
use crate::record::Summary;
use crate::store::{CHANGE_FEED_CAPACITY, Change, Changes, Store};

/// One committed batch as the viewers share it.
pub struct LiveBatch {
    /// The batch as the store announced it; `None` when the hub itself fell behind the store and lost batches, which
    /// a viewer treats as having fallen behind.
    pub committed: Option<Changes>,
    /// The whole batch as events, rendered by the first viewer that sends all of it.
    whole: OnceLock<Bytes>,
    /// Each change as its event, rendered by the first viewer that sends it alone.
    each: Box<[OnceLock<Bytes>]>,
}

impl LiveBatch {
    /// A batch as the hub hands it on, for the viewer's tests.
    #[cfg(test)]
    pub fn for_test(committed: crate::store::Committed) -> LiveBatch {
        LiveBatch::new(Some(Arc::new(committed)))
    }

    fn new(committed: Option<Changes>) -> LiveBatch {
        let count = committed.as_ref().map_or(0, |batch| batch.changes.len());
        LiveBatch {
            committed,
            whole: OnceLock::new(),
            each: (0..count).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The batch's changes; none when the hub lost batches.
    pub fn changes(&self) -> &[Change] {
        self.committed.as_ref().map_or(&[], |batch| &batch.changes)
    }

    /// Every change of the batch as events.
    pub fn whole(&self) -> &Bytes {
        self.whole.get_or_init(|| {
            let mut text = Vec::new();
            for index in 0..self.each.len() {
                text.extend_from_slice(self.event(index));
            }
            Bytes::from(text)
        })
    }

    /// The change at `index` as its event.
    pub fn event(&self, index: usize) -> &Bytes {
        self.each[index].get_or_init(|| {
            let mut text = Vec::new();
            live_event(&self.changes()[index]).write_sse(&mut text);
            Bytes::from(text)
        })
    }
}

/// The event a change is shown as.
pub fn live_event(change: &Change) -> LiveEvent {
    match change {
        Change::Captured(summary) => LiveEvent::Request(Summary::clone(summary)),
        Change::Updated(summary) => LiveEvent::Updated(Summary::clone(summary)),
        Change::Deleted { id } => LiveEvent::Deleted { id: *id },
        Change::Cleared => LiveEvent::Cleared,
        Change::Evicted { through } => LiveEvent::Evicted { through: *through },
    }
}

/// Where viewers subscribe; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    batches: broadcast::Sender<Arc<LiveBatch>>,
    store: Store,
}

impl Hub {
    /// Starts the hub's task on the current runtime; it ends when the store closes.
    pub fn start(store: &Store) -> Hub {
        let (batches, _) = broadcast::channel(CHANGE_FEED_CAPACITY);
        let mut feed = store.subscribe();
        let sender = batches.clone();
        tokio::spawn(async move {
            loop {
                let batch = match feed.recv().await {
                    Ok(committed) => LiveBatch::new(Some(committed)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "the live stream's hub fell behind the store");
                        LiveBatch::new(None)
                    }
                    Err(RecvError::Closed) => return,
                };
                // A send fails only while nobody watches, which is fine.
                let _ = sender.send(Arc::new(batch));
            }
        });
        Hub {
            batches,
            store: store.clone(),
        }
    }

    /// Subscribes to the batches committed from now on. A subscriber that falls more than
    /// [`CHANGE_FEED_CAPACITY`] batches behind is told it lagged.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveBatch>> {
        self.batches.subscribe()
    }

    /// The store, for replaying what a viewer missed.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
