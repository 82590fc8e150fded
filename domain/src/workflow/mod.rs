//! Remediation workflows: semver-versioned, with a lifecycle, searched by incident labels.

mod diff;
mod fields;
mod fusion;
mod labels;
mod lexical;
mod lifecycle;
mod scoring;
mod update;
mod version_record;

pub use diff::{FieldChange, diff_versions};
pub use fields::{WorkflowId, WorkflowName, WorkflowVersion};
pub use fusion::{Fused, FusionWeights, fuse};
pub use labels::{
    CustomLabels, DetectedField, DetectedLabels, GitOpsTool, LabelValue, MandatoryLabels, Priority,
    ServiceMesh, Severity,
};
pub use lexical::{LexicalMatch, score_documents, tokenize};
pub use lifecycle::{LifecycleStatus, TransitionError};
pub use scoring::{LabelScore, SearchFilters, passes_hard_filters, score_labels};
pub use update::{
    IMMUTABLE_FIELDS, MAX_NOTE_CHARS, MUTABLE_FIELDS, StatusUpdate, StatusUpdateDraft,
    UpdateRefused,
};
pub use version_record::{NewWorkflow, Workflow, WorkflowDraft, WorkflowLimits, WorkflowSummary};
