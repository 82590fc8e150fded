//! The workflow aggregate: one version of a remediation workflow.

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::fields::*;
use super::labels::*;
use super::lifecycle::LifecycleStatus;
use crate::{Reason, ValidationErrors};

/// Size limits of a workflow's free-text fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkflowLimits {
    pub description_chars: usize,
    pub content_bytes: usize,
}

impl Default for WorkflowLimits {
    fn default() -> Self {
        Self {
            description_chars: 10_000,
            content_bytes: 1024 * 1024,
        }
    }
}

/// A workflow version as the client sent it; [`WorkflowDraft::validate`] is the only way to a
/// [`NewWorkflow`].
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowDraft {
    pub workflow_name: String,
    pub version: String,
    /// Human-readable title (`name` on the wire).
    pub title: String,
    pub description: String,
    /// The workflow definition (YAML).
    pub content: String,
    /// SHA-256 of `content` in hex, if the client states it; must then match.
    pub content_hash: Option<String>,
    pub signal_type: String,
    pub severity: String,
    pub component: String,
    pub environment: String,
    pub priority: String,
    pub detected_labels: Value,
    pub custom_labels: Value,
    pub parameters: Value,
    pub execution_engine: String,
    pub container_image: Option<String>,
    pub container_digest: Option<String>,
    pub owner: Option<String>,
    pub maintainer: Option<String>,
    pub version_notes: Option<String>,
    pub change_summary: Option<String>,
    pub created_by: Option<String>,
}

/// One stored workflow version.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub id: WorkflowId,
    pub name: WorkflowName,
    pub version: WorkflowVersion,
    pub title: String,
    pub description: String,
    pub content: String,
    /// SHA-256 of `content`, lowercase hex.
    pub content_hash: String,
    pub labels: MandatoryLabels,
    pub detected_labels: DetectedLabels,
    pub custom_labels: CustomLabels,
    pub parameters: Map<String, Value>,
    pub execution_engine: String,
    pub container_image: Option<String>,
    pub container_digest: Option<String>,
    pub owner: Option<String>,
    pub maintainer: Option<String>,
    pub version_notes: Option<String>,
    pub change_summary: Option<String>,
    pub status: LifecycleStatus,
    pub status_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_by: Option<String>,
    pub disabled_reason: Option<String>,
    pub is_latest_version: bool,
    pub previous_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    /// The embedding of [`Workflow::search_text`], computed once at registration.
    pub embedding: Option<crate::embedding::Embedding>,
}

/// What a search reads of a workflow version: its identity, the labels it is filtered and
/// scored on, and what a caller needs to pick and run it. Search candidates travel as this
/// rather than as a whole [`Workflow`]: a search never reads content or parameters, and at
/// 10,000 workflows it reads over a hundred candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowSummary {
    pub id: WorkflowId,
    pub name: WorkflowName,
    pub version: WorkflowVersion,
    pub title: String,
    pub description: String,
    pub labels: MandatoryLabels,
    pub detected_labels: DetectedLabels,
    pub custom_labels: CustomLabels,
    pub container_image: Option<String>,
    pub container_digest: Option<String>,
}

impl WorkflowSummary {
    /// The text a workflow is found by in lexical search: its title, description, signal
    /// type, component and custom labels.
    pub fn lexical_text(&self) -> String {
        let mut text = format!(
            "{} {} {} {}",
            self.title,
            self.description,
            self.labels.signal_type,
            self.labels.component.as_str()
        );
        for (key, values) in self.custom_labels.as_map() {
            text.push_str(&format!(" {key} {}", values.join(" ")));
        }
        text
    }
}

impl From<&Workflow> for WorkflowSummary {
    fn from(w: &Workflow) -> Self {
        Self {
            id: w.id,
            name: w.name.clone(),
            version: w.version.clone(),
            title: w.title.clone(),
            description: w.description.clone(),
            labels: w.labels.clone(),
            detected_labels: w.detected_labels.clone(),
            custom_labels: w.custom_labels.clone(),
            container_image: w.container_image.clone(),
            container_digest: w.container_digest.clone(),
        }
    }
}

/// A validated workflow version, not yet stored (the store decides `is_latest_version` and
/// `previous_version`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewWorkflow(pub Workflow);

/// Whether any key or string of a JSON object holds NUL.
fn holds_nul(map: &Map<String, Value>) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(value),
            Value::Object(m) => holds_nul(m),
            _ => false,
        }
    }
    map.iter().any(|(k, v)| k.contains('\0') || value(v))
}

impl WorkflowDraft {
    pub fn validate(
        self,
        limits: &WorkflowLimits,
        id: WorkflowId,
        now: DateTime<Utc>,
    ) -> Result<NewWorkflow, ValidationErrors> {
        // PostgreSQL keeps microseconds: every adapter stores the same instant.
        let now = now.trunc_subsecs(6);
        let mut errors = ValidationErrors::new();
        let name = errors.collect(WorkflowName::parse(self.workflow_name));
        let version = errors.collect(WorkflowVersion::parse(&self.version));
        let title = errors.required_text("name", self.title, 255);
        let description =
            errors.required_text("description", self.description, limits.description_chars);
        if self.content.is_empty()
            || self.content.len() > limits.content_bytes
            || self.content.contains('\0')
        {
            errors.push(
                "content",
                format!("must be 1 to {} bytes, without NUL", limits.content_bytes),
            );
        }
        let content_hash = crate::sha256_hex(&self.content);
        if let Some(stated) = self.content_hash.filter(|h| !h.is_empty())
            && !stated.eq_ignore_ascii_case(&content_hash)
        {
            errors.push("content_hash", "does not match the SHA-256 of content");
        }
        let labels = errors.collect(MandatoryLabels::parse(
            self.signal_type,
            &self.severity,
            self.component,
            self.environment,
            &self.priority,
        ));
        let detected_labels = errors.collect(DetectedLabels::from_json(&self.detected_labels));
        let custom_labels = errors.collect(CustomLabels::from_json(&self.custom_labels));
        let parameters = match self.parameters {
            Value::Null => Some(Map::new()),
            Value::Object(m) if holds_nul(&m) => {
                // PostgreSQL's jsonb cannot store NUL; every adapter refuses it alike.
                errors.push(
                    "parameters",
                    "must not contain the NUL character (\\u0000) in any key or string",
                );
                None
            }
            Value::Object(m) => Some(m),
            _ => {
                errors.push_because("parameters", Reason::WrongType, "must be a JSON object");
                None
            }
        };
        let execution_engine = errors.required_text("execution_engine", self.execution_engine, 100);
        let container_image = errors.optional_text("container_image", self.container_image, 512);
        let container_digest = errors.optional_text("container_digest", self.container_digest, 100);
        let owner = errors.optional_text("owner", self.owner, 255);
        let maintainer = errors.optional_text("maintainer", self.maintainer, 255);
        let version_notes = errors.optional_text("version_notes", self.version_notes, 10_000);
        let change_summary = errors.optional_text("change_summary", self.change_summary, 10_000);
        let created_by = errors.optional_text("created_by", self.created_by, 255);

        match (
            name,
            version,
            labels,
            detected_labels,
            custom_labels,
            parameters,
        ) {
            (
                Some(name),
                Some(version),
                Some(labels),
                Some(detected_labels),
                Some(custom_labels),
                Some(parameters),
            ) if errors.is_empty() => Ok(NewWorkflow(Workflow {
                id,
                name,
                version,
                title,
                description,
                content: self.content,
                content_hash,
                labels,
                detected_labels,
                custom_labels,
                parameters,
                execution_engine,
                container_image,
                container_digest,
                owner,
                maintainer,
                version_notes,
                change_summary,
                status: LifecycleStatus::Active,
                status_reason: None,
                disabled_at: None,
                disabled_by: None,
                disabled_reason: None,
                is_latest_version: true,
                previous_version: None,
                created_at: now,
                created_by: created_by.clone(),
                updated_at: now,
                updated_by: created_by,
                embedding: None,
            })),
            _ => Err(errors),
        }
    }
}

impl Workflow {
    /// Moves the workflow through its lifecycle, recording who, why and when; returns
    /// whether anything changed (staying in the same status is a no-op). Enabling clears the
    /// disable metadata.
    pub fn apply_status(
        &mut self,
        to: LifecycleStatus,
        by: Option<String>,
        reason: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<bool, super::lifecycle::TransitionError> {
        let to = self.status.transition(to)?;
        if to == self.status {
            return Ok(false);
        }
        let at = at.trunc_subsecs(6);
        self.status = to;
        self.updated_at = at;
        self.updated_by = by.clone();
        self.status_reason = reason.clone();
        if to == LifecycleStatus::Disabled {
            self.disabled_at = Some(at);
            self.disabled_by = by;
            self.disabled_reason = reason;
        } else if to == LifecycleStatus::Active {
            self.disabled_at = None;
            self.disabled_by = None;
            self.disabled_reason = None;
        }
        Ok(true)
    }

    /// The text a workflow is found by in semantic search: its title, description and
    /// labels.
    pub fn search_text(&self) -> String {
        let mut text = format!(
            "{}. {} Signal: {}. Severity: {}. Component: {}.",
            self.title,
            self.description,
            self.labels.signal_type,
            self.labels.severity,
            self.labels.component.as_str()
        );
        for (key, values) in self.custom_labels.as_map() {
            text.push_str(&format!(" {key}: {}.", values.join(", ")));
        }
        text
    }

    /// The fields a version is registered with and may never change, as JSON (for the
    /// registration hash and the diff).
    pub fn immutable_fields(&self) -> Vec<(&'static str, Value)> {
        let opt = |v: &Option<String>| v.as_ref().map_or(Value::Null, |s| Value::from(s.as_str()));
        vec![
            ("name", Value::from(self.title.as_str())),
            ("description", Value::from(self.description.as_str())),
            ("content", Value::from(self.content.as_str())),
            ("content_hash", Value::from(self.content_hash.as_str())),
            (
                "labels.signal_type",
                Value::from(self.labels.signal_type.as_str()),
            ),
            (
                "labels.severity",
                Value::from(self.labels.severity.as_str()),
            ),
            (
                "labels.component",
                Value::from(self.labels.component.as_str()),
            ),
            (
                "labels.environment",
                Value::from(self.labels.environment.as_str()),
            ),
            (
                "labels.priority",
                Value::from(self.labels.priority.as_str()),
            ),
            ("detected_labels", self.detected_labels.to_json()),
            ("custom_labels", self.custom_labels.to_json()),
            ("parameters", Value::Object(self.parameters.clone())),
            (
                "execution_engine",
                Value::from(self.execution_engine.as_str()),
            ),
            ("container_image", opt(&self.container_image)),
            ("container_digest", opt(&self.container_digest)),
            ("owner", opt(&self.owner)),
            ("maintainer", opt(&self.maintainer)),
            ("version_notes", opt(&self.version_notes)),
            ("change_summary", opt(&self.change_summary)),
        ]
    }

    /// SHA-256 over the immutable fields: re-registering a version with the same hash is a
    /// harmless repeat; with another hash it is a conflict.
    pub fn registration_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.version.normalized().as_bytes());
        for (k, v) in self.immutable_fields() {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(canonical(&v).as_bytes());
            h.update([0]);
        }
        h.finalize().into()
    }
}

/// JSON with sorted keys.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}
