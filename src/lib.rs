//! hookscope: a local webhook receiver and inspector.
//!
//! The parts, each in its own module:
//! - [`cli`] and [`config`]: the command line and the checked configuration it becomes.
//! - [`client`]: the command-line clients (`tail`, `wait`, `replay`, `clear`) of a running hookscope.
//! - [`startup`]: opens the store, binds the listener, runs until told to stop.
//! - [`server`]: the accept loop, connection limits and graceful shutdown.
//! - [`http`]: routing, capture, the JSON API and the inspector page.
//! - [`live`]: the live stream: typed events, the hub that shares them among viewers, replay, pacing.
//! - [`profiles`]: pure checks of webhook payloads against the known payload profiles, by name.
//! - [`idempotency`]: which idempotency key a request carries.
//! - [`signatures`]: pure: every common webhook signature scheme, verified, explained and signed.
//! - [`endpoints`]: pure: which endpoint a request belongs to (path patterns), and what it is answered.
//! - [`forward`]: forwarding to the app being written (mirror and proxy), the outbox's queues, and replay.
//! - [`export`]: pure: the export formats (NDJSON, HAR 1.2, a curl script).
//! - [`names`]: the one rule for the names of endpoints and custom profiles.
//! - [`filter`]: one filter over captured requests, for the list, the live stream and the clients.
//! - [`readable`]: bodies as people read them: decompressed, or a form's fields (display only).
//! - [`store`]: SQLite in WAL mode behind one group-committing writer thread and a read pool.
//! - [`record`]: the records passed between capture, store and API.

pub mod cli;
pub mod client;
pub mod config;
pub mod endpoints;
pub mod export;
pub mod filter;
pub mod forward;
pub mod http;
pub mod idempotency;
pub mod live;
pub mod names;
pub mod profiles;
pub mod readable;
pub mod record;
pub mod server;
pub mod signatures;
pub mod startup;
pub mod store;
