//! The fault vocabulary.
