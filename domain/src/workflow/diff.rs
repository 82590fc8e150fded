//! Field-by-field difference of two workflow versions.

use serde_json::Value;

use super::version_record::Workflow;

/// One field that differs between two versions.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// Every field whose value differs from `from` to `to`, in a fixed field order: the
/// immutable content fields, then the version identity and lifecycle fields.
pub fn diff_versions(from: &Workflow, to: &Workflow) -> Vec<FieldChange> {
    let identity = |w: &Workflow| {
        vec![
            ("version", Value::from(w.version.as_str())),
            ("status", Value::from(w.status.as_str())),
            ("is_latest_version", Value::Bool(w.is_latest_version)),
        ]
    };
    let before = [from.immutable_fields(), identity(from)].concat();
    let after = [to.immutable_fields(), identity(to)].concat();
    before
        .into_iter()
        .zip(after)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, a), (_, b))| FieldChange {
            field: field.to_owned(),
            from: a,
            to: b,
        })
        .collect()
}
