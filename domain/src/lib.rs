//! The domain of the Data Storage Service: pure types and rules.
//!
//! Owns what an audit event *is* (its fields, their limits, how it is identified and
//! partitioned) and how audit queries are expressed. Knows nothing of HTTP, SQL, Redis or the
//! async runtime: no I/O crate may be added here (`cargo tree -p datastorage-domain` stays tiny).
//! Every value that leaves this crate has been validated by a smart constructor.

pub mod audit;
pub mod embedding;
pub mod log;
pub mod remediation;
pub mod retry;
pub mod validation;
pub mod workflow;

pub use validation::{FieldError, Reason, ValidationErrors};

/// Lowercase hex SHA-256 of a text (content hashes, cache keys, token hashes).
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
