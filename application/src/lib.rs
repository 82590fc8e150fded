//! Ports and use-cases of the Data Storage Service.
//!
//! Owns *what the service does*: record, batch, read and query audit events. It speaks to the
//! outside world only through the traits in [`ports`]; it knows no adapter, no HTTP status and
//! no SQL. Errors are [`error::AuditError`], which the inbound adapter maps to responses.

pub mod audit;
pub mod catalog;
pub mod cause;
pub mod circuit;
pub mod clock;
pub mod embedding;
pub mod error;
pub mod governance;
pub mod log;
pub mod ports;

pub use audit::{AuditService, AuditSettings};
pub use cause::Cause;
pub use clock::{Clock, ManualClock};
pub use error::{AuditError, WorkflowError};
