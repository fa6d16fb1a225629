//! Test helpers for the load tests.
