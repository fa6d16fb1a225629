//! Test helpers for the runner tests.
