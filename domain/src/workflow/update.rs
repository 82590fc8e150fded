//! What a change to a registered version may touch (DD-WORKFLOW-012): its lifecycle status,
//! with who and why. Everything that defines the version is immutable; a new version is
//! registered instead.

use super::LifecycleStatus;
use crate::{Reason, ValidationErrors};

/// Fields a change may carry.
pub const MUTABLE_FIELDS: &[&str] = &[
    "status",
    "reason",
    "disabled_by",
    "disabled_reason",
    "updated_by",
    "deprecation_notice",
];

/// Fields that define a version: a change naming one is refused.
pub const IMMUTABLE_FIELDS: &[&str] = &[
    "workflow_id",
    "workflow_name",
    "version",
    "name",
    "description",
    "content",
    "content_hash",
    "labels",
    "custom_labels",
    "detected_labels",
    "parameters",
    "execution_engine",
    "container_image",
    "container_digest",
    "owner",
    "maintainer",
    "version_notes",
    "change_summary",
    "created_at",
    "created_by",
    "is_latest_version",
    "previous_version",
];

/// The longest who or why a change records, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// A change as the client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusUpdateDraft {
    /// Every field name the request carried, known or not.
    pub named: Vec<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub disabled_by: Option<String>,
    pub disabled_reason: Option<String>,
    pub updated_by: Option<String>,
    pub deprecation_notice: Option<String>,
}

/// A change that keeps the rules: the status to move to, who and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub to: LifecycleStatus,
    pub by: Option<String>,
    pub reason: Option<String>,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateRefused {
    #[error(
        "{} cannot be changed on a registered version; register a new version instead",
        .0.join(", ")
    )]
    Immutable(Vec<String>),
    #[error("{0}")]
    Invalid(ValidationErrors),
}

impl StatusUpdateDraft {
    pub fn validate(self) -> Result<StatusUpdate, UpdateRefused> {
        let immutable: Vec<String> = self
            .named
            .iter()
            .filter(|k| IMMUTABLE_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        if !immutable.is_empty() {
            return Err(UpdateRefused::Immutable(immutable));
        }
        let mut errors = ValidationErrors::new();
        for unknown in self
            .named
            .iter()
            .filter(|k| !MUTABLE_FIELDS.contains(&k.as_str()))
        {
            errors.push(
                unknown.as_str(),
                format!(
                    "is not a field of a workflow update (allowed: {})",
                    MUTABLE_FIELDS.join(", ")
                ),
            );
        }
        // Each given text is checked, not only the one that is kept below.
        for (field, value) in [
            ("reason", &self.reason),
            ("disabled_by", &self.disabled_by),
            ("disabled_reason", &self.disabled_reason),
            ("updated_by", &self.updated_by),
            ("deprecation_notice", &self.deprecation_notice),
        ] {
            errors.optional_text(field, value.clone(), MAX_NOTE_CHARS);
        }
        let to = match &self.status {
            None => {
                errors.push_because("status", Reason::Required, "is required");
                None
            }
            Some(status) => errors.collect(LifecycleStatus::parse(status)),
        };
        errors.into_result().map_err(UpdateRefused::Invalid)?;
        let to = to.ok_or_else(|| {
            UpdateRefused::Invalid(ValidationErrors::single_because(
                "status",
                Reason::Required,
                "is required",
            ))
        })?;
        Ok(StatusUpdate {
            to,
            by: self.updated_by.or(self.disabled_by),
            reason: self
                .reason
                .or(self.disabled_reason)
                .or(self.deprecation_notice),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(named: &[&str]) -> StatusUpdateDraft {
        StatusUpdateDraft {
            named: named.iter().map(|s| s.to_string()).collect(),
            status: Some("deprecated".into()),
            ..StatusUpdateDraft::default()
        }
    }

    #[test]
    fn a_defining_field_is_refused_by_name_before_anything_else() {
        assert_eq!(
            draft(&["status", "content", "labels", "nonsense"]).validate(),
            Err(UpdateRefused::Immutable(vec![
                "content".into(),
                "labels".into()
            ]))
        );
    }

    #[test]
    fn unknown_fields_and_a_missing_status_are_named() {
        let Err(UpdateRefused::Invalid(errors)) = StatusUpdateDraft {
            status: None,
            ..draft(&["nonsense"])
        }
        .validate() else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["nonsense", "status"]);
    }

    #[test]
    fn every_note_is_checked_and_the_first_given_is_kept() {
        let refused = StatusUpdateDraft {
            reason: Some("why".into()),
            deprecation_notice: Some("a\0b".into()),
            ..draft(&["status", "reason", "deprecation_notice"])
        }
        .validate();
        assert!(matches!(refused, Err(UpdateRefused::Invalid(_))));
        let kept = StatusUpdateDraft {
            disabled_reason: Some("flaky".into()),
            deprecation_notice: Some("superseded".into()),
            disabled_by: Some("bob".into()),
            ..draft(&["status"])
        }
        .validate();
        assert_eq!(
            kept,
            Ok(StatusUpdate {
                to: LifecycleStatus::Deprecated,
                by: Some("bob".into()),
                reason: Some("flaky".into()),
            })
        );
    }
}
