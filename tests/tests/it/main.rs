//! The integration tests: one binary (it links the whole stack once), a module per suite.
//! Every suite that needs PostgreSQL or Redis fails loudly without them: run them with
//! `scripts/test.sh` (`scripts/test.sh --test it api::` for one suite).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod auth;
mod conformance;
mod contracts;
mod effectiveness;
mod embedder;
mod export;
mod faults;
mod governance;
mod incidents;
mod jwt;
mod log;
mod migrate;
mod openapi;
mod operations;
mod partitions;
mod ranking;
mod rate_limits;
mod redis_cluster;
mod reliability;
mod remediation_history;
mod replicas;
mod request_tracing;
mod retrieval;
mod search_evidence;
mod semantic;
mod slow_clients;
mod sqlstate;
mod timeline;
mod tls;
mod workflows_api;
mod write_path;
