//! Renderings of results.
