//! The inspector page in a real headless Chromium.
