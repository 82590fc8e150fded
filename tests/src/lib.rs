//! Shared test support: a fresh PostgreSQL database per test, a running service on port 0,
//! event factories, and the port conformance suites that every adapter must pass.
//!
//! PostgreSQL and Redis come from `scripts/test.sh` (the README's test command), which exports
//! `DS_TEST_DATABASE_URL` and `DS_TEST_REDIS_URL`. Without them the integration tests fail
//! loudly; they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cluster;
pub mod conformance;
pub mod embedding_server;
pub mod processes;
pub mod proxy;
pub mod support;
pub mod tls;
