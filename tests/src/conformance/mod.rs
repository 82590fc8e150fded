//! Port conformance suites. Each suite is a list of async cases over a port trait object;
//! `tests/conformance.rs` instantiates every case once per adapter, so a behaviour that one
//! adapter lacks fails by name.

pub mod audit;
pub mod catalog;
pub mod catalog_ranking;
pub mod embedding_cache;
pub mod governance;
pub mod log;
pub mod queue;
pub mod remediation;
