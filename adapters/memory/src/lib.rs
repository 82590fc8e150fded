//! In-memory outbound adapters.
//!
//! These are real adapters, not mocks: the embedded default runs on them and they pass the
//! same conformance suites as PostgreSQL and Redis. They keep everything in process memory,
//! so they are durable only for the life of the process; they never do I/O.

mod audit;
mod catalog;
mod embedding_cache;
mod governance;
mod log;
mod queue;

pub use audit::MemoryAuditEventRepository;
pub use catalog::MemoryWorkflowCatalog;
pub use embedding_cache::MemoryEmbeddingCache;
pub use governance::MemoryGovernance;
pub use log::MemoryAuditLog;
pub use queue::MemoryDeadLetterQueue;
