//! Test helpers for the proxy tests.
