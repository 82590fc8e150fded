//! The label shapes: the five mandatory labels, detected labels, custom labels, and the enums that document their values.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The five mandatory labels (DD-WORKFLOW-001 v2.3).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MandatoryLabelsDto {
    /// Signal type this workflow handles (e.g. OOMKilled, CrashLoopBackOff); not `*`.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^(?!\*$)[^\u0000]+$",
        example = "OOMKilled"
    )]
    pub signal_type: String,
    /// Case-insensitive on input; answered in lower case.
    #[schema(value_type = SeverityDoc, example = "critical")]
    pub severity: String,
    /// Kubernetes resource type (pod, deployment, node, ...) or `*` for any.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]+$",
        example = "pod"
    )]
    pub component: String,
    /// production, staging, ... or `*` for any.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]+$",
        example = "production"
    )]
    pub environment: String,
    /// `*` for any. Case-insensitive on input.
    #[schema(value_type = WorkflowPriorityDoc, example = "P0")]
    pub priority: String,
}

/// Severity of the signal.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Severity)]
#[allow(dead_code)] // documents the accepted values; parsing lives in the domain
pub enum SeverityDoc {
    Critical,
    High,
    Medium,
    Low,
}

/// Priority a workflow is for: a level, or `*` for any.
#[derive(Serialize, ToSchema)]
#[schema(as = WorkflowPriority)]
#[allow(dead_code)]
pub enum WorkflowPriorityDoc {
    P0,
    P1,
    P2,
    P3,
    #[serde(rename = "*")]
    Any,
}

/// Priority of an incident.
#[derive(Serialize, ToSchema)]
#[schema(as = Priority)]
#[allow(dead_code)]
pub enum PriorityDoc {
    P0,
    P1,
    P2,
    P3,
}

/// GitOps tool, or `*` for any.
#[derive(Serialize, ToSchema)]
#[schema(as = GitOpsTool)]
#[allow(dead_code)]
pub enum GitOpsToolDoc {
    #[serde(rename = "argocd")]
    ArgoCd,
    #[serde(rename = "flux")]
    Flux,
    #[serde(rename = "*")]
    Any,
}

/// Service mesh, or `*` for any.
#[derive(Serialize, ToSchema)]
#[schema(as = ServiceMesh)]
#[allow(dead_code)]
pub enum ServiceMeshDoc {
    #[serde(rename = "istio")]
    Istio,
    #[serde(rename = "linkerd")]
    Linkerd,
    #[serde(rename = "*")]
    Any,
}

/// A detected label whose detection can fail.
#[derive(Serialize, ToSchema)]
#[schema(as = DetectedField)]
#[allow(dead_code, non_camel_case_types)]
pub enum DetectedFieldDoc {
    gitOpsManaged,
    pdbProtected,
    hpaEnabled,
    stateful,
    helmManaged,
    networkIsolated,
    serviceMesh,
}

/// Customer-defined labels: key (1-253 characters) → up to 50 values (1-255 characters
/// each; a single string is read as a one-value list). At most 50 keys. On a workflow, the
/// value `*` matches any value of its key. No text may hold NUL.
pub fn custom_labels_schema() -> utoipa::openapi::schema::Object {
    custom_labels(false)
}

/// [`custom_labels_schema`] where `null` is also accepted (no labels).
pub fn optional_custom_labels_schema() -> utoipa::openapi::schema::Object {
    custom_labels(true)
}

fn custom_labels(nullable: bool) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaType, Type,
    };
    let value = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some(r"^[^\u0000]+$"))
    };
    let values = OneOfBuilder::new()
        .item(value())
        .item(ArrayBuilder::new().items(value()).max_items(Some(50)));
    let schema_type = if nullable {
        SchemaType::from_iter([Type::Object, Type::Null])
    } else {
        SchemaType::new(Type::Object)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .description(Some(
            "Customer-defined labels: key (1-253 characters) → values (up to 50 of 1-255 \
             characters; a single string is one value). At most 50 keys. On a workflow, `*` \
             matches any value of its key.",
        ))
        .max_properties(Some(50))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(253))
                .pattern(Some(r"^[^\u0000]+$")),
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(values.into())))
        .build()
}

/// Auto-detected labels of the Kubernetes resource (all optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[allow(non_snake_case)]
pub struct DetectedLabelsDoc {
    /// Fields whose detection failed; they are ignored.
    #[schema(value_type = Option<Vec<DetectedFieldDoc>>, example = json!(["pdbProtected"]))]
    pub failed_detections: Option<Vec<String>>,
    pub gitOpsManaged: Option<bool>,
    /// Case-insensitive on input.
    #[schema(value_type = Option<GitOpsToolDoc>)]
    pub gitOpsTool: Option<String>,
    pub pdbProtected: Option<bool>,
    pub hpaEnabled: Option<bool>,
    pub stateful: Option<bool>,
    pub helmManaged: Option<bool>,
    pub networkIsolated: Option<bool>,
    /// Case-insensitive on input.
    #[schema(value_type = Option<ServiceMeshDoc>)]
    pub serviceMesh: Option<String>,
}
