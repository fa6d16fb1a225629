//! The embedded demo target: a small HTTP key-value service with realistic
//! failure modes (`shakedown demo-target`), documented in `docs/demo-target.md`.
//!
//! | module | owns |
//! |---|---|
//! | `log` | the append-only JSON-lines log and its replay (torn last line dropped) |
//! | `store` | the map and the durability policy: memory only, write-then-ack, write-behind |
//! | `breaker` | the circuit breaker, a pure state machine |
//! | `quote` | the backend call behind `/api/quote`, with a timeout and the breaker |
//! | `http` | routing, service time, the server and its graceful drain |

pub(crate) mod breaker;
pub(crate) mod http;
pub(crate) mod log;
pub(crate) mod quote;
pub(crate) mod store;
