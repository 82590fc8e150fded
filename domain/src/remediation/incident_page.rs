//! Paging the incidents (issue 25 step 5): the query a store answers with the page's ids and
//! the exact count of every match, offset or keyset. [`incident_keys`] is the reference the
//! memory adapter uses; the PostgreSQL adapter answers the same in SQL and the conformance
//! suite holds the two to the same answers.

use chrono::{DateTime, Utc};

use super::incidents::{Incident, IncidentFilter, sort_incidents};
use crate::ValidationErrors;
use crate::audit::{CorrelationId, PageLimit};

/// Position of a keyset page: strictly after this row in the listing order
/// (`action_timestamp DESC, id DESC`). Stable while remediations are added, unlike an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentCursor {
    pub action_timestamp: DateTime<Utc>,
    pub id: CorrelationId,
}

impl IncidentCursor {
    pub fn after(incident: &Incident) -> Self {
        Self {
            action_timestamp: incident.action_timestamp,
            id: incident.id.clone(),
        }
    }

    /// Opaque to clients: `<microseconds since epoch>_<the id's UTF-8 in hex>`, so any id
    /// fits a query parameter without escaping.
    pub fn encode(&self) -> String {
        let mut out = format!("{}_", self.action_timestamp.timestamp_micros());
        for b in self.id.as_str().bytes() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    pub fn decode(value: &str) -> Result<Self, ValidationErrors> {
        let invalid = || ValidationErrors::single("cursor", "is not a cursor this service issued");
        let (micros, hex) = value.split_once('_').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let action_timestamp = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        if hex.len() % 2 != 0 || !hex.is_ascii() {
            return Err(invalid());
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| invalid())?;
        let id = String::from_utf8(bytes).map_err(|_| invalid())?;
        let id = CorrelationId::parse(&id).map_err(|_| invalid())?;
        Ok(Self {
            action_timestamp,
            id,
        })
    }

    /// True when `incident` comes after this cursor in the listing order.
    pub fn precedes(&self, incident: &Incident) -> bool {
        (incident.action_timestamp, &incident.id) < (self.action_timestamp, &self.id)
    }
}

/// Where an incidents page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentPosition {
    /// Skip this many matches (the seeds' pagination).
    Offset(u64),
    /// Start after this row (keyset pagination).
    After(IncidentCursor),
}

/// The incidents a client asked for: every filter, one page.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentQuery {
    pub filter: IncidentFilter,
    pub limit: PageLimit,
    pub position: IncidentPosition,
}

/// A store's answer: the page's remediations in listing order, the count of every match
/// (whatever the position), and whether rows follow the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentKeys {
    pub ids: Vec<CorrelationId>,
    pub total: u64,
    pub has_more: bool,
}

/// The page of `query` among `rows` (every remediation's incident, unfiltered): the rules
/// every store must give the same answer by.
pub fn incident_keys(
    rows: impl IntoIterator<Item = Incident>,
    query: &IncidentQuery,
) -> IncidentKeys {
    let mut rows: Vec<Incident> = rows
        .into_iter()
        .filter(|i| query.filter.matches(i))
        .collect();
    sort_incidents(&mut rows);
    let total = rows.len() as u64;
    let start = match &query.position {
        IncidentPosition::Offset(n) => usize::try_from(*n).unwrap_or(usize::MAX),
        IncidentPosition::After(cursor) => rows
            .iter()
            .position(|i| cursor.precedes(i))
            .unwrap_or(rows.len()),
    };
    let limit = query.limit.get() as usize;
    let rest = rows.get(start..).unwrap_or_default();
    IncidentKeys {
        ids: rest.iter().take(limit).map(|i| i.id.clone()).collect(),
        total,
        has_more: rest.len() > limit,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::remediation::ExecutionStatus;

    fn row(id: &str, minute: u32) -> Incident {
        Incident {
            id: CorrelationId::parse(id).unwrap_or_else(|e| panic!("{e}")),
            alert_name: None,
            alert_severity: None,
            action_type: Some(
                if minute.is_multiple_of(2) {
                    "Even"
                } else {
                    "Odd"
                }
                .to_owned(),
            ),
            action_timestamp: Utc
                .with_ymd_and_hms(2026, 3, 1, 10, minute, 0)
                .single()
                .unwrap_or_else(|| panic!("a valid time")),
            execution_status: ExecutionStatus::Pending,
            target_kind: None,
            target_name: None,
            target_namespace: None,
            effectiveness_score: None,
        }
    }

    fn query(position: IncidentPosition, limit: i64) -> IncidentQuery {
        IncidentQuery {
            filter: IncidentFilter::default(),
            limit: PageLimit::parse(limit).unwrap_or_else(|e| panic!("{e}")),
            position,
        }
    }

    #[test]
    fn keyset_pages_walk_every_row_once_newest_first_with_the_full_total() {
        // Two rows share a minute: the id breaks the tie, descending.
        let rows = vec![
            row("a", 1),
            row("b", 3),
            row("c", 3),
            row("d", 2),
            row("e", 5),
        ];
        let mut seen = Vec::new();
        let mut position = IncidentPosition::Offset(0);
        loop {
            let page = incident_keys(rows.clone(), &query(position, 2));
            assert_eq!(page.total, 5);
            seen.extend(page.ids.iter().map(|i| i.as_str().to_owned()));
            if !page.has_more {
                break;
            }
            let last = rows
                .iter()
                .find(|r| Some(&r.id) == page.ids.last())
                .unwrap_or_else(|| panic!("the page's last row"));
            position = IncidentPosition::After(IncidentCursor::after(last));
        }
        assert_eq!(seen, ["e", "c", "b", "d", "a"]);
    }

    #[test]
    fn the_total_counts_matches_not_the_page_and_offsets_past_the_end_are_empty() {
        let rows: Vec<Incident> = (0..7).map(|m| row(&format!("r{m}"), m)).collect();
        let mut q = query(IncidentPosition::Offset(1), 2);
        q.filter.action_type = Some("Even".into());
        let page = incident_keys(rows.clone(), &q);
        assert_eq!((page.total, page.ids.len(), page.has_more), (4, 2, true));
        assert_eq!(page.ids[0].as_str(), "r4");
        let past = incident_keys(rows, &query(IncidentPosition::Offset(99), 2));
        assert_eq!((past.total, past.ids.len(), past.has_more), (7, 0, false));
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for bad in [
            "",
            "12",
            "x_61",
            "12_6",
            "12_zz",
            "12_ff",
            "99999999999999999999_61",
        ] {
            assert!(IncidentCursor::decode(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn cursors_round_trip(micros in 0i64..4_000_000_000_000_000, id in "[a-zA-Z0-9/_ é-]{1,40}") {
            let cursor = IncidentCursor {
                action_timestamp: DateTime::from_timestamp_micros(micros)
                    .unwrap_or_else(|| panic!("in range")),
                id: CorrelationId::parse(&id).unwrap_or_else(|e| panic!("{e}")),
            };
            prop_assert_eq!(IncidentCursor::decode(&cursor.encode()).ok(), Some(cursor));
        }
    }
}
