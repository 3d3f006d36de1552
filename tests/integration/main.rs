//! Integration tests: a real hookscope on port 0 with a real SQLite file, driven over real HTTP (and, in
//! `browser`, through a real headless Chromium).

mod api;
mod browser;
mod capture;
mod cli;
mod duplicates;
mod endpoints;
mod envelopes;
mod forward;
mod hardening;
mod helpers;
mod live_stream;
mod profiles;
mod refusals;
mod signatures;
mod startup;
mod target;
