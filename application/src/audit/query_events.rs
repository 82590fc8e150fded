//! Use-case: query audit events with filters and pagination.

use datastorage_domain::audit::*;
use datastorage_domain::{Reason, ValidationErrors};

use super::AuditService;
use crate::error::AuditError;

/// Query parameters as the client wrote them. Parsing happens here rather than at the edge
/// because relative times (`since=24h`) need the service's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQueryInput {
    pub correlation_id: Option<String>,
    pub event_type: Option<String>,
    pub event_category: Option<String>,
    pub event_outcome: Option<String>,
    pub severity: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor_id: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub detail_key: Option<String>,
    pub detail_value: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub cursor: Option<String>,
    pub include_total: Option<String>,
}

/// A page and the paging the query applied (defaults filled in).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQueryResult {
    pub page: AuditPage,
    pub limit: PageLimit,
    pub position: PagePosition,
}

impl AuditService {
    pub async fn query(&self, input: AuditQueryInput) -> Result<AuditQueryResult, AuditError> {
        let query = self.parse_query(input)?;
        let page = self.repository.query(&query).await?;
        Ok(AuditQueryResult {
            page,
            limit: query.limit,
            position: query.position,
        })
    }

    fn parse_query(&self, input: AuditQueryInput) -> Result<AuditQuery, ValidationErrors> {
        let now = self.clock.now();
        let mut errors = ValidationErrors::new();
        // An empty parameter (`?severity=`) means "no filter", as most clients send it.
        let given = |v: Option<String>| v.filter(|s| !s.is_empty());

        // Parses an optional parameter, collecting its error and leaving the filter unset.
        fn opt<T>(
            errors: &mut ValidationErrors,
            value: Option<String>,
            parse: impl FnOnce(String) -> Result<T, ValidationErrors>,
        ) -> Option<T> {
            errors.collect(value.map(parse).transpose()).flatten()
        }
        let e = &mut errors;
        let mut filter = AuditFilter {
            correlation_id: opt(e, given(input.correlation_id), CorrelationId::parse),
            event_type: opt(e, given(input.event_type), EventType::parse),
            event_category: opt(e, given(input.event_category), |v| EventCategory::parse(&v)),
            event_outcome: opt(e, given(input.event_outcome), |v| EventOutcome::parse(&v)),
            severity: opt(e, given(input.severity), Severity::parse),
            resource_type: opt(e, given(input.resource_type), ResourceType::parse),
            resource_id: opt(e, given(input.resource_id), ResourceId::parse),
            actor_id: opt(e, given(input.actor_id), ActorId::parse),
            since: opt(e, given(input.since), |v| {
                parse_time_bound("since", &v, now)
            }),
            until: opt(e, given(input.until), |v| {
                parse_time_bound("until", &v, now)
            }),
            detail: None,
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since > until
        {
            errors.push("until", "must not be earlier than since");
        }
        filter.detail = match (given(input.detail_key), input.detail_value) {
            (None, None) => None,
            (Some(key), Some(value)) => errors.collect(DetailMatch::parse(key, value)),
            (None, Some(_)) => {
                errors.push_because(
                    "detail_key",
                    Reason::Required,
                    "is required when detail_value is given",
                );
                None
            }
            (Some(_), None) => {
                errors.push_because(
                    "detail_value",
                    Reason::Required,
                    "is required when detail_key is given",
                );
                None
            }
        };

        let limit = page_limit(&mut errors, given(input.limit));
        let offset = page_offset(&mut errors, given(input.offset));
        let cursor = errors
            .collect(given(input.cursor).map(|v| Cursor::decode(&v)).transpose())
            .flatten();
        let position = page_start(&mut errors, offset, cursor).map(|start| match start {
            PageStart::Offset(n) => PagePosition::Offset(n),
            PageStart::After(cursor) => PagePosition::After(cursor),
        });
        let include_total = match given(input.include_total).as_deref() {
            None | Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                errors.push_because(
                    "include_total",
                    Reason::WrongType,
                    format!("must be true or false (got {other:?})"),
                );
                None
            }
        };

        errors.into_result()?;
        match (limit, position, include_total) {
            (Some(limit), Some(position), Some(include_total)) => Ok(AuditQuery {
                filter,
                limit,
                position,
                include_total,
            }),
            _ => Err(ValidationErrors::single("query", "is invalid")),
        }
    }
}

/// A query's `limit`: 1..=[`MAX_PAGE_LIMIT`], [`PageLimit::DEFAULT`] when absent; `None`, with
/// the error recorded, when invalid. Shared by every paged read of the audit trail.
pub(super) fn page_limit(
    errors: &mut ValidationErrors,
    value: Option<String>,
) -> Option<PageLimit> {
    let Some(v) = value else {
        return Some(PageLimit::DEFAULT);
    };
    match v.parse::<i64>() {
        Ok(n) => errors.collect(PageLimit::parse(n)),
        Err(_) => {
            errors.push(
                "limit",
                format!("must be an integer between 1 and {MAX_PAGE_LIMIT} (got {v:?})"),
            );
            None
        }
    }
}

/// Where a paged read starts: an offset (0 when neither is given) or after a cursor.
pub(super) enum PageStart<C> {
    Offset(u64),
    After(C),
}

/// `offset` or `cursor`, never both (the error recorded, `None`). Shared by every paged read
/// that offers both.
pub(super) fn page_start<C>(
    errors: &mut ValidationErrors,
    offset: Option<u64>,
    cursor: Option<C>,
) -> Option<PageStart<C>> {
    match (offset, cursor) {
        (Some(_), Some(_)) => {
            errors.push(
                "cursor",
                "cannot be combined with offset (use one or the other)",
            );
            None
        }
        (_, Some(cursor)) => Some(PageStart::After(cursor)),
        (offset, None) => Some(PageStart::Offset(offset.unwrap_or(0))),
    }
}

/// A query's `offset`: a non-negative int64, as the document says; `None` when absent, or
/// invalid (the error recorded).
pub(super) fn page_offset(errors: &mut ValidationErrors, value: Option<String>) -> Option<u64> {
    let v = value?;
    match v.parse::<u64>() {
        Ok(n) if n <= i64::MAX as u64 => Some(n),
        _ => {
            errors.push_because(
                "offset",
                Reason::WrongType,
                format!("must be a non-negative integer (got {v:?})"),
            );
            None
        }
    }
}
