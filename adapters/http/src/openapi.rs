//! The OpenAPI document: the operations' own annotations, then [`AccessAndLimits`], which
//! adds what every `/api/v1` operation shares (the bearer requirement and its role from
//! [`auth::required_role`], the answers of the auth, limit and body layers), so the document
//! states those from the same code that enforces them.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use crate::auth;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Data Storage Service API",
        description = "Audit trail persistence and the remediation workflow catalog. The one \
            service that talks to the database. Errors are RFC 7807 problem documents.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::audit::create_event,
        crate::audit::create_batch,
        crate::audit::query_events,
        crate::audit::get_event,
        crate::audit::create_notification,
        crate::audit::correlation_trail,
        crate::audit::log::checkpoint,
        crate::audit::log::vkey,
        crate::audit::log::inclusion,
        crate::audit::log::consistency,
        crate::audit::log::status,
        crate::audit::log::verify_chain,
        crate::audit::log::export,
        crate::audit::legal_hold::place,
        crate::audit::legal_hold::list,
        crate::audit::legal_hold::release,
        crate::effectiveness::effectiveness,
        crate::audit::timeline::timeline,
        crate::incidents::list,
        crate::incidents::one,
        crate::remediation_history::context,
        crate::dlq::dlq_status,
        crate::workflows::register,
        crate::workflows::list,
        crate::workflows::get_workflow,
        crate::workflows::update,
        crate::workflows::disable,
        crate::workflows::enable,
        crate::workflows::versions,
        crate::workflows::version,
        crate::workflows::diff,
        crate::workflows::search,
        crate::workflows::invalidate_workflow_cache,
        crate::workflows::invalidate_all_cache,
        crate::health::health,
        crate::health::live,
        crate::health::ready,
        crate::metrics::metrics,
    ),
    modifiers(&AccessAndLimits),
    tags(
        (name = "Audit Write API", description = "Record and read the unified audit trail."),
        (name = "Audit Log", description = "The transparency log: signed checkpoints, RFC 9162 proofs, trail verification."),
        (name = "Audit Governance", description = "Legal holds; retention runs in the background."),
        (name = "Remediation Read API", description = "What remediations did and how effective they were, read from the audit trail."),
        (name = "Remediation History", description = "What was tried before on a target, and how it went, read from the audit trail."),
        (name = "Workflow Catalog API", description = "Register, version, search remediation workflows."),
        (name = "Operations", description = "Dead-letter queue state."),
        (name = "Health", description = "Liveness and readiness probes."),
        (name = "Metrics", description = "Prometheus metrics."),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document exactly as served at `/api-docs/openapi.json` and committed under
/// `openapi/`.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    doc.push('\n');
    doc
}

/// The security scheme's name in the document.
const BEARER: &str = "bearerAuth";

/// Adds to every `/api/v1` operation what the layers around it answer.
struct AccessAndLimits;

impl Modify for AccessAndLimits {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "A token from the service's tokens file (`--tokens-file`), or a JWT of the \
             configured OIDC issuer (`--jwt-issuer`, e.g. a Kubernetes projected \
             service-account token), sent as `Authorization: Bearer <token>`. Each operation \
             names the roles it accepts. Without either (the embedded default on loopback) no \
             token is needed."
                .into(),
        );
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, operation) in operations(item) {
                if let Some(roles) = auth::required_role(&method, path) {
                    guard(operation, roles);
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(axum::http::Method, &mut Operation)> {
    use axum::http::Method;
    [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

fn guard(operation: &mut Operation, roles: &[auth::Role]) {
    operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let names: Vec<String> = roles.iter().map(|r| format!("`{}`", r.as_str())).collect();
    let access = format!(
        "**Access**: a bearer token with the role {} (when the service runs with a tokens \
         file or a JWT issuer).",
        names.join(" or ")
    );
    operation.description = Some(match operation.description.take() {
        Some(d) if !d.is_empty() => format!("{d}\n\n{access}"),
        _ => access,
    });
    // (status, slug, title, description)
    let mut shared = vec![
        (401, "unauthorized", "Unauthorized", "No valid bearer token"),
        (
            403,
            "forbidden",
            "Forbidden",
            "The token lacks the role this operation needs",
        ),
        (
            429,
            "rate-limited",
            "Too Many Requests",
            "Over the caller's rate limit (when the service runs with rate limits); see Retry-After",
        ),
        (
            500,
            "internal-error",
            "Internal Server Error",
            "Internal error; the cause is logged, never returned",
        ),
        (
            503,
            "saturated",
            "Service Unavailable",
            "Too many requests in flight (`saturated`), the request outlived its deadline \
             (`request-timeout`), storage is down and nothing was written \
             (`service-unavailable`), or, for a write, a store did not answer in time and the \
             events may be stored (`outcome-unknown`, with their `event_ids`: retry with \
             them); see Retry-After",
        ),
    ];
    if operation.request_body.is_some() {
        shared.push((
            408,
            "body-timeout",
            "Body Timeout",
            "The body did not fully arrive within the configured time once the service began \
             reading it; the connection is closed",
        ));
        shared.push((
            413,
            "payload-too-large",
            "Payload Too Large",
            "Body larger than the configured limit",
        ));
        shared.push((
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            "A body sent without `Content-Type: application/json`",
        ));
    }
    for (status, slug, title, description) in shared {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| problem(status, slug, title, description));
    }
}

/// A problem response whose example is the problem this status really carries.
fn problem(
    status: u16,
    slug: &str,
    title: &str,
    description: &str,
) -> RefOr<utoipa::openapi::Response> {
    let example = serde_json::json!({
        "type": format!("{}{slug}", crate::problem::PROBLEM_BASE),
        "title": title,
        "status": status,
        "detail": description,
    });
    RefOr::T(
        ResponseBuilder::new()
            .description(format!("{description} (`{slug}`)"))
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .example(Some(example))
                    .build(),
            )
            .build(),
    )
}
