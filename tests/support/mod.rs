//! Helpers shared by the integration tests: real servers on loopback port 0.
//! Each area keeps its helpers in its own file.
#![allow(dead_code, unreachable_pub)]

pub mod demo;
pub mod http;
pub mod load;
pub mod proxy;
pub mod runner;
pub mod tls;
