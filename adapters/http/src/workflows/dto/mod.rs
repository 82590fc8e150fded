//! Wire shapes of the workflow catalog. Field names follow the original contract's
//! `RemediationWorkflow`, `WorkflowSearchRequest` and `WorkflowSearchResult`.

mod history;
mod labels;
mod search;
mod workflow;

pub use history::*;
pub use labels::*;
pub use search::*;
pub use workflow::*;
