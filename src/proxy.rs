//! The fault-injecting TCP proxy.
