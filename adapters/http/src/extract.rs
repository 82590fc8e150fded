//! Extractors whose rejections are [`ApiError`]s, so a malformed request gets a problem
//! document naming the field at fault instead of axum's plain-text rejection.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use datastorage_domain::Reason;

use crate::problem::ApiError;

/// A JSON body: requires `application/json` (or `application/*+json`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        parse_json(&json_body(req, state).await?).map(ApiJson)
    }
}

/// The body of a request sent as JSON (`application/json` or `application/*+json`), read
/// whole within the body limit.
async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body must be sent as Content-Type: application/json (got {:?})",
            if essence.is_empty() {
                "nothing"
            } else {
                essence
            }
        )));
    }
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            // A body that ran out of time is answered 408 by `body_timeout::enforce`.
            ApiError::MalformedJson(format!("the body could not be read: {rejection}"))
        }
    })
}

/// An optional JSON body: no body at all reads as `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0");
        if !has_type && (empty || !req.headers().contains_key(header::TRANSFER_ENCODING)) {
            return Ok(OptionalJson(T::default()));
        }
        // A JSON `null` body says "no body" as plainly as an empty one does. Anything else
        // must be an object: serde would also read a struct from an array of its fields, so
        // the document's first character decides before it is parsed (once).
        let bytes = json_body(req, state).await?;
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'n') => {
                parse_json::<Option<T>>(&bytes).map(|body| OptionalJson(body.unwrap_or_default()))
            }
            _ => {
                // Malformed JSON is named as such; well-formed JSON of another type is not an
                // object.
                parse_json::<serde::de::IgnoredAny>(&bytes)?;
                Err(ApiError::invalid_field(
                    "body",
                    Reason::WrongType,
                    "must be a JSON object (or null, or no body at all)",
                ))
            }
        }
    }
}

/// Reads an optional integer the way JSON Schema counts integers: `52` and `52.0` are the
/// same integer (a number whose fraction is zero), `52.5` is not one.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    match n.as_f64() {
        // 2^63 is exactly representable; anything at or past it is out of i64's range.
        Some(f) if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) => {
            Ok(Some(f as i64))
        }
        Some(f) if f.fract() == 0.0 => Err(D::Error::custom(format!(
            "invalid value: {n}, expected an integer in the 64-bit range"
        ))),
        _ => Err(D::Error::custom(format!(
            "invalid type: {n}, expected an integer"
        ))),
    }
}

/// Parses JSON, reporting syntax errors as malformed JSON and type/shape errors as
/// validation errors keyed by the JSON path of the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Valid bodies take the plain parser: tracking the path of every field cost about a
    // tenth of the decoding time of a batch. Only a body that fails is parsed again, with
    // the path, to name the field at fault.
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(_) => parse_json_tracking_path(bytes),
    }
}

/// The slow path of [`parse_json`]: the same parse, with the JSON path of every field kept
/// for the error.
fn parse_json_tracking_path<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => data_error(&path, &inner),
            _ => ApiError::MalformedJson(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::MalformedJson(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

fn data_error(path: &str, e: &serde_json::Error) -> ApiError {
    let full = e.to_string();
    let message = full
        .rfind(" at line ")
        .map_or(full.as_str(), |i| &full[..i])
        .to_owned();
    // serde reports a missing field at the path of the object that lacks it. Its data errors
    // have no kind beyond "data", so the kind is read from its own fixed message forms.
    let (field, reason, message) = match message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        Some(missing) => (
            join_path(path, missing),
            Reason::Required,
            "is required".to_owned(),
        ),
        None => (
            if path == "." {
                "body".to_owned()
            } else {
                path.to_owned()
            },
            if message.starts_with("unknown variant") {
                Reason::UnknownValue
            } else {
                Reason::WrongType
            },
            message,
        ),
    };
    let detail = match batch_index(&field) {
        Some(i) => format!("event at index {i}: {field}: {message}"),
        None => format!("{field}: {message}"),
    };
    ApiError::Validation {
        detail,
        reasons: vec![(field.clone(), reason)],
        field_errors: BTreeMap::from([(field, message)]),
    }
}

fn join_path(path: &str, field: &str) -> String {
    if path == "." || path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// `[3].event_type` → `Some(3)`.
fn batch_index(field: &str) -> Option<usize> {
    field.strip_prefix('[')?.split(']').next()?.parse().ok()
}

/// Query parameters; a shape error (a repeated key, say) is a validation problem.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|rejection| ApiError::Validation {
                detail: format!("the query string is invalid: {}", rejection.body_text()),
                reasons: vec![("query".to_owned(), Reason::Invalid)],
                field_errors: BTreeMap::from([("query".to_owned(), rejection.body_text())]),
            })
    }
}
