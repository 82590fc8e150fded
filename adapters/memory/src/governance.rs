//! Legal holds and retention in memory, over a memory repository and its log.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use datastorage_application::ports::{
    LegalHold, LegalHoldStore, MonthRetention, PlaceOutcome, PrunedMonth, ReleasedHold,
    RepositoryError, RetentionStore,
};
use datastorage_domain::audit::{AuditEvent, CorrelationId};

use crate::{MemoryAuditEventRepository, MemoryAuditLog};

/// Holds (active and released) and the retention of a memory repository's events.
#[derive(Clone)]
pub struct MemoryGovernance {
    events: MemoryAuditEventRepository,
    log: MemoryAuditLog,
    holds: Arc<Mutex<Vec<ReleasedOrActive>>>,
}

#[derive(Clone)]
struct ReleasedOrActive {
    hold: LegalHold,
    released: Option<ReleasedHold>,
}

fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn expired(e: &AuditEvent, now: DateTime<Utc>) -> bool {
    *e.event_timestamp.as_datetime() + chrono::Duration::days(i64::from(e.retention_days.get()))
        < now
}

impl MemoryGovernance {
    pub fn new(events: MemoryAuditEventRepository, log: MemoryAuditLog) -> Self {
        Self {
            events,
            log,
            holds: Arc::default(),
        }
    }

    // Each change checks first and then changes, so a poisoned lock is safe to reuse.
    fn holds(&self) -> MutexGuard<'_, Vec<ReleasedOrActive>> {
        self.holds.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn held(holds: &[ReleasedOrActive], correlation: &CorrelationId) -> bool {
        holds
            .iter()
            .any(|h| h.released.is_none() && &h.hold.correlation_id == correlation)
    }
}

#[async_trait]
impl LegalHoldStore for MemoryGovernance {
    async fn place(&self, hold: &LegalHold) -> Result<PlaceOutcome, RepositoryError> {
        let mut holds = self.holds();
        if let Some(active) = holds
            .iter()
            .find(|h| h.released.is_none() && h.hold.correlation_id == hold.correlation_id)
        {
            return Ok(PlaceOutcome::AlreadyHeld(active.hold.clone()));
        }
        holds.push(ReleasedOrActive {
            hold: hold.clone(),
            released: None,
        });
        Ok(PlaceOutcome::Placed)
    }

    async fn release(
        &self,
        correlation_id: &CorrelationId,
        released_by: &str,
        release_reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ReleasedHold>, RepositoryError> {
        let mut holds = self.holds();
        let Some(active) = holds
            .iter_mut()
            .find(|h| h.released.is_none() && &h.hold.correlation_id == correlation_id)
        else {
            return Ok(None);
        };
        let released = ReleasedHold {
            hold: active.hold.clone(),
            released_by: released_by.to_owned(),
            released_at: at,
            release_reason: release_reason.to_owned(),
        };
        active.released = Some(released.clone());
        Ok(Some(released))
    }

    async fn active(&self) -> Result<Vec<LegalHold>, RepositoryError> {
        Ok(self
            .holds()
            .iter()
            .filter(|h| h.released.is_none())
            .map(|h| h.hold.clone())
            .collect())
    }
}

#[async_trait]
impl RetentionStore for MemoryGovernance {
    async fn months(
        &self,
        now: DateTime<Utc>,
        before: NaiveDate,
    ) -> Result<Vec<MonthRetention>, RepositoryError> {
        let holds = self.holds().clone();
        let state = self.events.read();
        let mut months: std::collections::BTreeMap<NaiveDate, MonthRetention> = Default::default();
        for e in state.all().filter(|e| e.event_date() < before) {
            let month = month_of(e.event_date());
            let m = months.entry(month).or_insert(MonthRetention {
                month,
                events: 0,
                expired: 0,
                held: 0,
            });
            m.events += 1;
            m.expired += u64::from(expired(e, now));
            m.held += u64::from(Self::held(&holds, &e.correlation_id));
        }
        Ok(months.into_values().collect())
    }

    async fn prune(
        &self,
        month: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<PrunedMonth>, RepositoryError> {
        let month = month_of(month);
        let end = month.checked_add_months(Months::new(1)).unwrap_or(month);
        // Holds stay locked until the month is gone, so none is placed in between.
        let holds = self.holds();
        let mut state = self.events.write();
        let in_month: Vec<&AuditEvent> = state
            .all()
            .filter(|e| (month..end).contains(&e.event_date()))
            .collect();
        let qualifies = !in_month.is_empty()
            && in_month
                .iter()
                .all(|e| expired(e, now) && !Self::held(&holds, &e.correlation_id));
        if !qualifies {
            return Ok(None);
        }
        let events = state.remove_dated(month, end);
        let log_ranges = self.log.record_pruned(month, end);
        Ok(Some(PrunedMonth {
            month,
            events,
            log_ranges,
        }))
    }
}
