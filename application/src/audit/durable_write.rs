//! The durability contract's write path (DESIGN.md §3): store, retrying transient failures
//! within the request's deadline; if storage stays down (or the breaker is open), put the
//! whole write in the dead-letter queue; if that fails too, report unavailable. A success is
//! only ever reported for a write that is committed or durably queued.

use datastorage_domain::audit::{EventIdOrigin, NewAuditEvent};

use super::AuditService;
use crate::cause::Cause;
use crate::error::AuditError;
use crate::ports::{InsertOutcome, RepositoryError};

/// What happened to a recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Committed to storage.
    Created,
    /// Identical event already stored; nothing written.
    AlreadyExists,
    /// Storage was unavailable; durably queued for replay.
    Queued,
}

impl From<InsertOutcome> for WriteOutcome {
    fn from(o: InsertOutcome) -> Self {
        match o {
            InsertOutcome::Created => WriteOutcome::Created,
            InsertOutcome::AlreadyExists => WriteOutcome::AlreadyExists,
        }
    }
}

/// After an ambiguous failure an event may have been stored: every later write of it must
/// check for an earlier copy.
pub(crate) fn may_exist(mut event: NewAuditEvent) -> NewAuditEvent {
    event.id_origin = EventIdOrigin::Client;
    event
}

/// A random draw in [0, 1) for jitter, from the random bits of a UUIDv7.
fn jitter_unit() -> f64 {
    let bits = uuid::Uuid::now_v7().as_u64_pair().1 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

impl AuditService {
    /// Stores `events` (distinct ids) all or nothing; outcomes in input order.
    pub(crate) async fn store(
        &self,
        events: Vec<NewAuditEvent>,
    ) -> Result<Vec<WriteOutcome>, AuditError> {
        let n = events.len() as u64;
        // The emitting service, in the original metrics' terms, is the event category.
        let service = events
            .first()
            .map_or("unknown", |e| e.event.event_category.as_str());
        let now = self.clock.now();
        for e in &events {
            let lag = (now - *e.event.event_timestamp.as_datetime())
                .num_milliseconds()
                .max(0);
            metrics::histogram!("datastorage_audit_lag_seconds", "service" => service)
                .record(lag as f64 / 1000.0);
        }
        let result = self.store_uncounted(events).await;
        let status = match &result {
            Ok(outcomes) => match outcomes.first() {
                Some(WriteOutcome::Queued) => "dlq_fallback",
                Some(WriteOutcome::AlreadyExists) => "duplicate",
                _ => "success",
            },
            Err(AuditError::Unavailable(_)) => "unavailable",
            Err(_) => "rejected",
        };
        metrics::counter!("datastorage_audit_traces_total", "service" => service, "status" => status).increment(n);
        result
    }

    async fn store_uncounted(
        &self,
        mut events: Vec<NewAuditEvent>,
    ) -> Result<Vec<WriteOutcome>, AuditError> {
        // Made only if the write falls back: the common write never needs it.
        let mut last_failure: Option<Cause> = None;
        if self.breaker.allows_attempt(self.clock.now()) {
            let delays = self
                .settings
                .retry
                .schedule(self.settings.retry_deadline, jitter_unit);
            let mut retries = delays.into_iter();
            loop {
                let started = std::time::Instant::now();
                let result = match events.as_slice() {
                    [one] => self.repository.insert(one).await.map(|o| vec![o]),
                    many => self.repository.insert_batch(many).await,
                };
                metrics::histogram!("datastorage_write_duration_seconds", "table" => "audit_events")
                    .record(started.elapsed().as_secs_f64());
                match result {
                    Ok(outcomes) => {
                        self.breaker.record_success();
                        return Ok(outcomes.into_iter().map(WriteOutcome::from).collect());
                    }
                    Err(RepositoryError::Unavailable(why)) => {
                        self.breaker.record_failure(self.clock.now());
                        last_failure = Some(why);
                        events = events.into_iter().map(may_exist).collect();
                        match retries.next() {
                            Some(delay) if self.breaker.allows_attempt(self.clock.now()) => {
                                self.clock.sleep(delay).await;
                            }
                            _ => break,
                        }
                    }
                    Err(permanent) => {
                        // The store answered: it is up, the data is at fault.
                        self.breaker.record_success();
                        return Err(permanent.into());
                    }
                }
            }
        }
        let why = last_failure.unwrap_or_else(|| Cause::msg("the circuit breaker is open"));
        self.fall_back(events, why).await
    }

    async fn fall_back(
        &self,
        events: Vec<NewAuditEvent>,
        storage_failure: Cause,
    ) -> Result<Vec<WriteOutcome>, AuditError> {
        let Some(queue) = &self.queue else {
            return Err(AuditError::Unavailable(storage_failure));
        };
        let events: Vec<NewAuditEvent> = events.into_iter().map(may_exist).collect();
        match queue.enqueue(&events).await {
            Ok(()) => Ok(vec![WriteOutcome::Queued; events.len()]),
            // Neither store took it: both causes go to the log.
            Err(e) => Err(AuditError::Unavailable(Cause::msg(format!(
                "storage: {}; queue: {}",
                storage_failure.chain(),
                Cause::new(e).chain()
            )))),
        }
    }
}
