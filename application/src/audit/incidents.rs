//! Use-case: the seeds' incidents, one row per remediation, read from the audit trail
//! (issue 25 step 3).
//!
//! Correctness first: finds the candidate remediations through the ordinary query (the
//! `remediation.workflow_created` events of the time range, narrowed by `action_type`), reads
//! each candidate's trail, lets the domain fold and filter the rows, and cuts the page from
//! the full sorted list, so `total` is the count of every match. Faster reads are step 5's.

use std::collections::BTreeSet;

use datastorage_domain::audit::{
    AuditFilter, AuditQuery, CorrelationId, DetailMatch, EventType, MAX_PAGE_LIMIT, PageLimit,
    PagePosition, parse_time_bound,
};
use datastorage_domain::remediation::{
    Incident, IncidentFilter, WORKFLOW_CREATED, incident, sort_incidents,
};
use datastorage_domain::workflow::Severity;
use datastorage_domain::{Reason, ValidationErrors};

use super::AuditService;
use crate::error::AuditError;

/// Most remediations one request examines. Past it the request is refused (400: narrow the
/// time range or filters) rather than answered with a total that is not the true count.
pub const MAX_INCIDENT_CANDIDATES: usize = 10_000;

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
}

/// One page of incidents, newest first, and the count of every match.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub total: u64,
    pub limit: PageLimit,
    pub offset: u64,
}

impl IncidentPage {
    pub fn has_more(&self) -> bool {
        self.offset + (self.incidents.len() as u64) < self.total
    }
}

impl AuditService {
    /// # Errors
    /// [`AuditError::Invalid`] for a bad filter or too many candidates; storage errors.
    pub async fn incidents(&self, input: IncidentQueryInput) -> Result<IncidentPage, AuditError> {
        let (filter, limit, offset) = self.parse_incident_query(input)?;
        let mut rows = Vec::new();
        for correlation in self.incident_candidates(&filter).await? {
            let trail = self
                .repository
                .correlation(&correlation, self.settings.max_trail)
                .await?;
            rows.extend(incident(&correlation, &trail).filter(|i| filter.matches(i)));
        }
        sort_incidents(&mut rows);
        let total = rows.len() as u64;
        let incidents = rows
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit.get() as usize)
            .collect();
        Ok(IncidentPage {
            incidents,
            total,
            limit,
            offset,
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

    /// Correlations with a `workflow_created` event in the time range (and of the action
    /// type): a superset of the matches, since a row's time is its last such event.
    async fn incident_candidates(
        &self,
        filter: &IncidentFilter,
    ) -> Result<BTreeSet<CorrelationId>, AuditError> {
        let query_filter = AuditFilter {
            event_type: Some(EventType::parse(WORKFLOW_CREATED)?),
            detail: filter
                .action_type
                .clone()
                .map(|a| DetailMatch::parse("action_type".into(), a))
                .transpose()?,
            since: filter.since,
            until: filter.until,
            ..AuditFilter::default()
        };
        let mut correlations = BTreeSet::new();
        let mut position = PagePosition::Offset(0);
        loop {
            let page = self
                .repository
                .query(&AuditQuery {
                    filter: query_filter.clone(),
                    limit: PageLimit::parse(i64::from(MAX_PAGE_LIMIT))?,
                    position,
                    include_total: false,
                })
                .await?;
            correlations.extend(page.events.into_iter().map(|e| e.correlation_id));
            if correlations.len() > MAX_INCIDENT_CANDIDATES {
                return Err(ValidationErrors::single_because(
                    "since",
                    Reason::OutOfRange,
                    format!(
                        "more than {MAX_INCIDENT_CANDIDATES} remediations in range; \
                         narrow the time range or filter by action_type"
                    ),
                )
                .into());
            }
            match page.next_cursor {
                Some(cursor) if page.has_more => position = PagePosition::After(cursor),
                _ => return Ok(correlations),
            }
        }
    }

    fn parse_incident_query(
        &self,
        input: IncidentQueryInput,
    ) -> Result<(IncidentFilter, PageLimit, u64), ValidationErrors> {
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
        // Absent is the first page; an invalid one is recorded and ends the request below.
        let offset = super::query_events::page_offset(&mut errors, input.offset).or(Some(0));
        errors.into_result()?;
        match (limit, offset) {
            (Some(limit), Some(offset)) => Ok((filter, limit, offset)),
            _ => Err(ValidationErrors::single("query", "is invalid")),
        }
    }
}
