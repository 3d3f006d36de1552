//! Integration tests: a real hookscope on port 0 with a real SQLite file, driven over real HTTP.

mod api;
mod capture;
mod duplicates;
mod envelopes;
mod helpers;
mod startup;
