//! Wire shapes of the audit API. Field names follow the original contract
//! (`kubernaut-datastorage-v1.openapi.yaml`) so clients generated from it work unchanged.

mod notification;
mod read;
mod write;

pub use notification::*;
pub use read::*;
pub use write::*;
