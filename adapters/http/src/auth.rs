//! Bearer-token authentication and role-based authorisation of the API routes.
//!
//! An [`Authenticator`] turns the bearer credential into a [`Principal`]: the tokens file's
//! [`TokenTable`] is one (tokens are never stored: the file holds their SHA-256 hashes, each
//! with an identity and roles); bootstrap composes it with JWT verification, whose key
//! fetching is not this adapter's business. Every `/api/v1` route requires a role (see
//! [`required_role`]); the health probes, metrics and docs stay open. The caller's identity
//! is handed to handlers, which record it as the actor of what they write.

use std::collections::HashMap;
use std::sync::Arc;

use crate::problem::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What a route may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    AuditWriter,
    AuditReader,
    /// Places and releases legal holds.
    AuditAdmin,
    CatalogAdmin,
    CatalogReader,
    Operator,
}

impl Role {
    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "audit-writer" => Some(Role::AuditWriter),
            "audit-reader" => Some(Role::AuditReader),
            "audit-admin" => Some(Role::AuditAdmin),
            "catalog-admin" => Some(Role::CatalogAdmin),
            "catalog-reader" => Some(Role::CatalogReader),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }

    pub const fn as_str(&self) -> &'static str {
        match self {
            Role::AuditWriter => "audit-writer",
            Role::AuditReader => "audit-reader",
            Role::AuditAdmin => "audit-admin",
            Role::CatalogAdmin => "catalog-admin",
            Role::CatalogReader => "catalog-reader",
            Role::Operator => "operator",
        }
    }
}

/// Who made the request, from their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity(pub String);

/// Who a credential names and what it may do; also in the request's extensions after
/// authentication (the rate limiter reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub identity: String,
    pub roles: Vec<Role>,
}

/// Turns a bearer credential into a principal.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// `None`: not a credential this service accepts (answered 401; the reason is logged by
    /// the implementation, never sent).
    async fn authenticate(&self, bearer: &str) -> Option<Principal>;
}

/// The token hashes the service accepts.
#[derive(Debug, Clone, Default)]
pub struct TokenTable {
    by_hash: HashMap<String, Principal>,
}

impl TokenTable {
    /// `entries`: (SHA-256 hex of the token, identity, roles).
    pub fn new(entries: Vec<(String, String, Vec<Role>)>) -> Self {
        Self {
            by_hash: entries
                .into_iter()
                .map(|(hash, identity, roles)| {
                    (hash.to_ascii_lowercase(), Principal { identity, roles })
                })
                .collect(),
        }
    }

    /// Reads a tokens file: `{"tokens": [{"identity", "sha256", "roles": [...]}]}`.
    ///
    /// # Errors
    /// When the file cannot be read, or is not such a document (see [`TokenTable::parse`]).
    pub fn from_file(path: &std::path::Path) -> Result<Self, TokensFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| TokensFileError {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of a tokens file (`path` only names it in errors).
    ///
    /// # Errors
    /// When it is not a tokens file, or holds a digest that is not SHA-256 hex or a role
    /// that does not exist.
    pub fn parse(text: &str, path: &std::path::Path) -> Result<Self, TokensFileError> {
        #[derive(serde::Deserialize)]
        struct TokensFile {
            tokens: Vec<TokenEntry>,
        }
        #[derive(serde::Deserialize)]
        struct TokenEntry {
            identity: String,
            sha256: String,
            roles: Vec<String>,
        }
        let invalid = |reason: String| TokensFileError {
            path: path.display().to_string(),
            reason,
        };
        let file: TokensFile =
            serde_json::from_str(text).map_err(|e| invalid(format!("not a tokens file: {e}")))?;
        let mut entries = Vec::new();
        for t in file.tokens {
            if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!(
                    "token of {} must be a SHA-256 hex digest",
                    t.identity
                )));
            }
            let roles = t
                .roles
                .iter()
                .map(|r| {
                    Role::parse(r)
                        .ok_or_else(|| invalid(format!("unknown role {r:?} for {}", t.identity)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            entries.push((t.sha256, t.identity, roles));
        }
        Ok(Self::new(entries))
    }

    /// The principal whose token this is.
    pub fn find(&self, token: &str) -> Option<&Principal> {
        let hash = datastorage_domain::sha256_hex(token);
        self.by_hash.get(&hash)
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

#[async_trait::async_trait]
impl Authenticator for TokenTable {
    async fn authenticate(&self, bearer: &str) -> Option<Principal> {
        self.find(bearer).cloned()
    }
}

/// A tokens file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TokensFileError {
    pub path: String,
    pub reason: String,
}

/// The role a route needs; `None` for routes outside the API.
pub fn required_role(method: &Method, route: &str) -> Option<&'static [Role]> {
    let route = route.strip_prefix("/api/v1")?;
    let write = *method != Method::GET;
    Some(match route {
        "/audit/legal-hold" if write => &[Role::AuditAdmin],
        r if r.starts_with("/audit/legal-hold/") => &[Role::AuditAdmin],
        "/audit/legal-hold" => &[Role::AuditAdmin, Role::AuditReader],
        // Verifying reads the trail; it writes nothing.
        "/audit/verify-chain" => &[Role::AuditReader],
        "/audit/log/status" => &[Role::AuditReader, Role::Operator],
        r if r.starts_with("/audit/") && write => &[Role::AuditWriter],
        r if r.starts_with("/audit/") => &[Role::AuditReader],
        // Read from the audit trail, so readable by whoever reads the trail.
        r if r.starts_with("/effectiveness/")
            || r.starts_with("/remediation-history/")
            || r == "/incidents"
            || r.starts_with("/incidents/") =>
        {
            &[Role::AuditReader]
        }
        "/workflows/search" => &[Role::CatalogReader, Role::CatalogAdmin],
        r if r.starts_with("/workflows") && write => &[Role::CatalogAdmin],
        r if r.starts_with("/workflows") => &[Role::CatalogReader, Role::CatalogAdmin],
        r if r.starts_with("/cache/") => &[Role::CatalogAdmin, Role::Operator],
        "/dlq" => &[Role::Operator],
        _ => &[Role::Operator],
    })
}

/// `None`: authentication is off (the embedded default on loopback).
pub type Auth = Option<Arc<dyn Authenticator>>;

pub async fn authorise(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let Some(authenticator) = auth else {
        return next.run(request).await;
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let Some(needed) = route
        .as_deref()
        .and_then(|r| required_role(request.method(), r))
    else {
        return next.run(request).await;
    };
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let principal = match token {
        Some(t) => authenticator.authenticate(t).await,
        None => None,
    };
    let Some(principal) = principal else {
        let mut response = ApiError::Specific {
            status: StatusCode::UNAUTHORIZED,
            slug: "unauthorized",
            title: "Unauthorized",
            detail: "a valid bearer token is required".into(),
        }
        .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    };
    if !needed.iter().any(|r| principal.roles.contains(r)) {
        let names: Vec<&str> = needed.iter().map(Role::as_str).collect();
        return ApiError::Specific {
            status: StatusCode::FORBIDDEN,
            slug: "forbidden",
            title: "Forbidden",
            detail: format!("this operation needs the role {}", names.join(" or ")),
        }
        .into_response();
    }
    request
        .extensions_mut()
        .insert(Identity(principal.identity.clone()));
    request.extensions_mut().insert(principal);
    next.run(request).await
}
