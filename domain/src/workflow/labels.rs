//! Workflow labels (DD-WORKFLOW-001): five mandatory ones, detected ones, custom ones.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value, json};

use crate::{Reason, ValidationErrors};

/// A mandatory label value on a workflow: a value, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LabelValue {
    Any,
    Exact(String),
}

impl LabelValue {
    fn parse(field: &str, value: String, max: usize) -> Result<Self, ValidationErrors> {
        if value == "*" {
            return Ok(LabelValue::Any);
        }
        check_text(field, &value, max)?;
        Ok(LabelValue::Exact(value))
    }

    /// Whether this workflow label accepts a query value (case-insensitive).
    pub fn accepts(&self, query: &str) -> bool {
        match self {
            LabelValue::Any => true,
            LabelValue::Exact(v) => v.eq_ignore_ascii_case(query),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            LabelValue::Any => "*",
            LabelValue::Exact(v) => v,
        }
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ValidationErrors> {
    let n = value.chars().count();
    if n == 0 || n > max || value.contains('\0') {
        return Err(ValidationErrors::single_because(
            field,
            Reason::OutOfRange,
            format!("must be 1 to {max} characters, none of them NUL"),
        ));
    }
    Ok(())
}

macro_rules! label_enum {
    ($name:ident, $field:literal, { $($variant:ident => $wire:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Case-insensitive.
            pub fn parse(value: &str) -> Result<Self, ValidationErrors> {
                $(if value.eq_ignore_ascii_case($wire) { return Ok($name::$variant); })+
                Err(ValidationErrors::single_because(
                    $field, Reason::UnknownValue,
                    format!("unknown value {value:?}; expected one of: {}", [$($wire),+].join(", "))))
            }

            pub const fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

label_enum!(Severity, "severity", {
    Critical => "critical", High => "high", Medium => "medium", Low => "low",
});
label_enum!(Priority, "priority", {
    P0 => "P0", P1 => "P1", P2 => "P2", P3 => "P3", Any => "*",
});
label_enum!(GitOpsTool, "gitOpsTool", { ArgoCd => "argocd", Flux => "flux", Any => "*" });
label_enum!(ServiceMesh, "serviceMesh", { Istio => "istio", Linkerd => "linkerd", Any => "*" });
label_enum!(DetectedField, "failed_detections", {
    GitOpsManaged => "gitOpsManaged",
    PdbProtected => "pdbProtected",
    HpaEnabled => "hpaEnabled",
    Stateful => "stateful",
    HelmManaged => "helmManaged",
    NetworkIsolated => "networkIsolated",
    ServiceMesh => "serviceMesh",
});

/// The five mandatory labels of a workflow. `component`, `environment` and `priority` may be
/// `*` (any); `signal_type` and `severity` must be exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandatoryLabels {
    pub signal_type: String,
    pub severity: Severity,
    pub component: LabelValue,
    pub environment: LabelValue,
    pub priority: Priority,
}

impl MandatoryLabels {
    pub fn parse(
        signal_type: String,
        severity: &str,
        component: String,
        environment: String,
        priority: &str,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let signal_ok = errors.collect(check_text("labels.signal_type", &signal_type, 100));
        if signal_type == "*" {
            errors.push_because(
                "labels.signal_type",
                Reason::WrongType,
                "must be a signal type, not *",
            );
        }
        let severity = errors.collect(Severity::parse(severity).map_err(|e| prefix("labels.", e)));
        let component = errors.collect(LabelValue::parse("labels.component", component, 100));
        let environment = errors.collect(LabelValue::parse("labels.environment", environment, 100));
        let priority = errors.collect(Priority::parse(priority).map_err(|e| prefix("labels.", e)));
        match (signal_ok, severity, component, environment, priority) {
            (Some(()), Some(severity), Some(component), Some(environment), Some(priority))
                if errors.is_empty() =>
            {
                Ok(Self {
                    signal_type,
                    severity,
                    component,
                    environment,
                    priority,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "signal_type": self.signal_type,
            "severity": self.severity.as_str(),
            "component": self.component.as_str(),
            "environment": self.environment.as_str(),
            "priority": self.priority.as_str(),
        })
    }
}

/// Re-keys errors under a parent field (`severity` → `labels.severity`).
fn prefix(parent: &str, errors: ValidationErrors) -> ValidationErrors {
    let mut out = ValidationErrors::new();
    for e in errors.errors() {
        out.push(format!("{parent}{}", e.field), e.message.clone());
    }
    out
}

/// Labels detected on the Kubernetes resource (DD-WORKFLOW-001 v2.3). On a workflow they say
/// what it is built for; in a query, what the incident's resource has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetectedLabels {
    pub git_ops_managed: Option<bool>,
    pub git_ops_tool: Option<GitOpsTool>,
    pub pdb_protected: Option<bool>,
    pub hpa_enabled: Option<bool>,
    pub stateful: Option<bool>,
    pub helm_managed: Option<bool>,
    pub network_isolated: Option<bool>,
    pub service_mesh: Option<ServiceMesh>,
    /// Detections that failed (RBAC, timeout): these fields are ignored.
    pub failed_detections: Vec<DetectedField>,
}

impl DetectedLabels {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        };
        put("gitOpsManaged", self.git_ops_managed.map(Value::Bool));
        put(
            "gitOpsTool",
            self.git_ops_tool.map(|t| Value::from(t.as_str())),
        );
        put("pdbProtected", self.pdb_protected.map(Value::Bool));
        put("hpaEnabled", self.hpa_enabled.map(Value::Bool));
        put("stateful", self.stateful.map(Value::Bool));
        put("helmManaged", self.helm_managed.map(Value::Bool));
        put("networkIsolated", self.network_isolated.map(Value::Bool));
        put(
            "serviceMesh",
            self.service_mesh.map(|t| Value::from(t.as_str())),
        );
        if !self.failed_detections.is_empty() {
            put(
                "failed_detections",
                Some(Value::from(
                    self.failed_detections
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>(),
                )),
            );
        }
        Value::Object(m)
    }

    /// Reads the JSON shape of [`DetectedLabels::to_json`] (also the wire shape).
    pub fn from_json(value: &Value) -> Result<Self, ValidationErrors> {
        let field = |k: &str| format!("detected_labels.{k}");
        let Some(map) = value.as_object() else {
            if value.is_null() {
                return Ok(Self::default());
            }
            return Err(ValidationErrors::single(
                "detected_labels",
                "must be an object",
            ));
        };
        let mut errors = ValidationErrors::new();
        let mut flag = |k: &str| -> Option<bool> {
            match map.get(k) {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => {
                    errors.push_because(field(k), Reason::WrongType, "must be true or false");
                    None
                }
            }
        };
        let mut labels = Self {
            git_ops_managed: flag("gitOpsManaged"),
            pdb_protected: flag("pdbProtected"),
            hpa_enabled: flag("hpaEnabled"),
            stateful: flag("stateful"),
            helm_managed: flag("helmManaged"),
            network_isolated: flag("networkIsolated"),
            ..Self::default()
        };
        let text = |k: &str| map.get(k).and_then(Value::as_str);
        if let Some(t) = text("gitOpsTool") {
            labels.git_ops_tool =
                errors.collect(GitOpsTool::parse(t).map_err(|e| prefix("detected_labels.", e)));
        } else if map.get("gitOpsTool").is_some_and(|v| !v.is_null()) {
            errors.push_because(field("gitOpsTool"), Reason::WrongType, "must be a string");
        }
        if let Some(t) = text("serviceMesh") {
            labels.service_mesh =
                errors.collect(ServiceMesh::parse(t).map_err(|e| prefix("detected_labels.", e)));
        } else if map.get("serviceMesh").is_some_and(|v| !v.is_null()) {
            errors.push_because(field("serviceMesh"), Reason::WrongType, "must be a string");
        }
        match map.get("failed_detections") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    match item.as_str().map(DetectedField::parse) {
                        Some(Ok(f)) => labels.failed_detections.push(f),
                        Some(Err(e)) => {
                            errors.collect::<()>(Err(prefix("detected_labels.", e)));
                        }
                        None => errors.push(field("failed_detections"), "must hold strings"),
                    }
                }
            }
            Some(_) => errors.push_because(
                field("failed_detections"),
                Reason::WrongType,
                "must be an array",
            ),
        }
        errors.into_result()?;
        Ok(labels)
    }

    pub fn failed(&self, field: DetectedField) -> bool {
        self.failed_detections.contains(&field)
    }
}

/// Customer-defined labels: key → values (`*` on a workflow matches any value of that key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomLabels(BTreeMap<String, Vec<String>>);

impl CustomLabels {
    pub const MAX_KEYS: usize = 50;
    pub const MAX_VALUES: usize = 50;

    pub fn parse(map: BTreeMap<String, Vec<String>>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if map.len() > Self::MAX_KEYS {
            errors.push_because(
                "custom_labels",
                Reason::OutOfRange,
                format!("must have at most {} keys", Self::MAX_KEYS),
            );
        }
        for (key, values) in &map {
            let field = format!("custom_labels.{key}");
            if check_text("custom_labels", key, 253).is_err() {
                errors.push_because(
                    "custom_labels",
                    Reason::OutOfRange,
                    "keys must be 1 to 253 characters, none of them NUL",
                );
            }
            if values.len() > Self::MAX_VALUES {
                errors.push_because(
                    field.clone(),
                    Reason::OutOfRange,
                    format!("must have at most {} values", Self::MAX_VALUES),
                );
            }
            if values.iter().any(|v| check_text(&field, v, 255).is_err()) {
                errors.push_because(
                    field,
                    Reason::OutOfRange,
                    "values must be 1 to 255 characters, none of them NUL",
                );
            }
        }
        errors.into_result()?;
        Ok(Self(map))
    }

    pub fn as_map(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect(),
        )
    }

    pub fn from_json(value: &Value) -> Result<Self, ValidationErrors> {
        match value {
            Value::Null => Ok(Self::default()),
            Value::Object(map) => {
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    let values = match v {
                        Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>(),
                        Value::String(s) => Some(vec![s.clone()]),
                        _ => None,
                    };
                    match values {
                        Some(values) => {
                            out.insert(k.clone(), values);
                        }
                        None => {
                            return Err(ValidationErrors::single_because(
                                format!("custom_labels.{k}"),
                                Reason::WrongType,
                                "must be an array of strings",
                            ));
                        }
                    }
                }
                Self::parse(out)
            }
            _ => Err(ValidationErrors::single(
                "custom_labels",
                "must be an object",
            )),
        }
    }
}
