//! Use-case: the seeds' incidents, one row per remediation, read from the audit trail
//! (issue 25 steps 3 and 5).
//!
//! The store finds the page and the exact count of every match (`AuditEventRepository::
//! incidents`, by the domain's rules); the page's trails are read in one round trip and
//! folded into rows by the domain.

use std::collections::HashMap;

use datastorage_domain::audit::{AuditEvent, CorrelationId, PageLimit, parse_time_bound};
use datastorage_domain::remediation::{
    Incident, IncidentCursor, IncidentFilter, IncidentPosition, IncidentQuery, incident,
};
use datastorage_domain::workflow::Severity;
use datastorage_domain::{Reason, ValidationErrors};

use super::AuditService;
use crate::error::AuditError;

/// The filters and paging as the client wrote them; parsed here because relative times
/// (`since=24h`) need the service's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentQueryInput {
    pub alert_name: Option<String>,
    pub severity: Option<String>,
    pub action_type: Option<String>,
    pub namespace: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub cursor: Option<String>,
}

/// One page of incidents, newest first, and the count of every match.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub total: u64,
    pub limit: PageLimit,
    /// The offset asked for; 0 for a keyset page.
    pub offset: u64,
    pub has_more: bool,
    /// Where the next page starts, when rows follow this one.
    pub next_cursor: Option<IncidentCursor>,
}

impl AuditService {
    /// # Errors
    /// [`AuditError::Invalid`] for a bad filter or cursor; storage errors.
    pub async fn incidents(&self, input: IncidentQueryInput) -> Result<IncidentPage, AuditError> {
        let query = self.parse_incident_query(input)?;
        let keys = self.repository.incidents(&query).await?;
        let mut trails = self.trails(&keys.ids).await?;
        let incidents: Vec<Incident> = keys
            .ids
            .iter()
            .filter_map(|id| incident(id, &trails.remove(id).unwrap_or_default()))
            .collect();
        let next_cursor = keys
            .has_more
            .then(|| incidents.last().map(IncidentCursor::after))
            .flatten();
        Ok(IncidentPage {
            incidents,
            total: keys.total,
            limit: query.limit,
            offset: match query.position {
                IncidentPosition::Offset(n) => n,
                IncidentPosition::After(_) => 0,
            },
            has_more: keys.has_more,
            next_cursor,
        })
    }

    /// The incident of one correlation; `None` when it chose no workflow.
    ///
    /// # Errors
    /// [`AuditError::Invalid`] for a malformed id; storage errors.
    pub async fn incident(&self, id: &str) -> Result<Option<Incident>, AuditError> {
        let correlation = CorrelationId::parse(id)?;
        let trail = self
            .repository
            .correlation(&correlation, self.settings.max_trail)
            .await?;
        Ok(incident(&correlation, &trail))
    }

    /// Each correlation's events, oldest first, read in one round trip.
    pub(super) async fn trails(
        &self,
        ids: &[CorrelationId],
    ) -> Result<HashMap<CorrelationId, Vec<AuditEvent>>, AuditError> {
        let mut trails: HashMap<CorrelationId, Vec<AuditEvent>> = HashMap::new();
        for event in self
            .repository
            .correlations(ids, self.settings.max_trail)
            .await?
        {
            trails
                .entry(event.correlation_id.clone())
                .or_default()
                .push(event);
        }
        Ok(trails)
    }

    fn parse_incident_query(
        &self,
        input: IncidentQueryInput,
    ) -> Result<IncidentQuery, ValidationErrors> {
        let now = self.clock.now();
        let mut errors = ValidationErrors::new();
        // An empty parameter means "no filter", as in the audit query.
        let given = |v: Option<String>| v.filter(|s| !s.is_empty());
        let text = |errors: &mut ValidationErrors, field: &str, v: Option<String>| {
            let v = given(v)?;
            if v.contains('\0') || v.chars().count() > 255 {
                errors.push_because(
                    field,
                    Reason::OutOfRange,
                    "must be at most 255 characters, none of them NUL",
                );
                return None;
            }
            Some(v)
        };
        let e = &mut errors;
        let filter = IncidentFilter {
            alert_name: text(e, "alert_name", input.alert_name),
            action_type: text(e, "action_type", input.action_type),
            namespace: text(e, "namespace", input.namespace),
            severity: e
                .collect(
                    given(input.severity)
                        .map(|v| Severity::parse(&v))
                        .transpose(),
                )
                .flatten(),
            since: e
                .collect(
                    given(input.since)
                        .map(|v| parse_time_bound("since", &v, now))
                        .transpose(),
                )
                .flatten(),
            until: e
                .collect(
                    given(input.until)
                        .map(|v| parse_time_bound("until", &v, now))
                        .transpose(),
                )
                .flatten(),
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since > until
        {
            errors.push("until", "must not be earlier than since");
        }
        // An empty `limit=` or `offset=` is not absent: the document declares integers.
        let limit = super::query_events::page_limit(&mut errors, input.limit);
        let offset = super::query_events::page_offset(&mut errors, input.offset);
        let cursor = errors
            .collect(
                given(input.cursor)
                    .map(|v| IncidentCursor::decode(&v))
                    .transpose(),
            )
            .flatten();
        let position =
            super::query_events::page_start(&mut errors, offset, cursor).map(|start| match start {
                super::query_events::PageStart::Offset(n) => IncidentPosition::Offset(n),
                super::query_events::PageStart::After(c) => IncidentPosition::After(c),
            });
        errors.into_result()?;
        match (limit, position) {
            (Some(limit), Some(position)) => Ok(IncidentQuery {
                filter,
                limit,
                position,
            }),
            _ => Err(ValidationErrors::single("query", "is invalid")),
        }
    }
}
