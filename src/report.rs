//! Renderings of results: the terminal summary, the JSON journal and JUnit XML.

pub mod journal;
