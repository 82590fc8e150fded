//! The durability contract's write path (DESIGN.md §3): store, retrying transient failures
//! within the request's deadline; if storage stays down (or the breaker is open), put the
//! whole write in the dead-letter queue; if that fails too, report unavailable. A success is
//! only ever reported for a write that is committed or durably queued.

use datastorage_domain::audit::{EventIdOrigin, NewAuditEvent};

use super::AuditService;
use crate::cause::{Cause, chain};
use crate::error::AuditError;
use crate::ports::{InsertOutcome, QueueError, RepositoryError};

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
            Err(AuditError::OutcomeUnknown { .. }) => "outcome_unknown",
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
        // Whether an attempt went unanswered: then it may have committed after all.
        let mut maybe_stored = false;
        if self.breaker.allows_attempt(self.clock.now()) {
            let budget = self.settings.retry_deadline;
            // The whole database part (attempts, waits, retries) ends here: a store that hangs
            // costs a request this much, then the queue takes the write.
            let deadline = tokio::time::Instant::now() + budget;
            let delays = self.settings.retry.schedule(budget, jitter_unit);
            let mut retries = delays.into_iter();
            loop {
                let started = std::time::Instant::now();
                let attempt = async {
                    match events.as_slice() {
                        [one] => self.repository.insert(one).await.map(|o| vec![o]),
                        many => self.repository.insert_batch(many).await,
                    }
                };
                let result = tokio::time::timeout_at(deadline, attempt)
                    .await
                    .unwrap_or_else(|_| {
                        metrics::counter!("datastorage_storage_timeouts_total", "call" => "write")
                            .increment(1);
                        Err(RepositoryError::OutcomeUnknown(Cause::msg(format!(
                            "no answer within the write's {} ms storage deadline",
                            budget.as_millis()
                        ))))
                    });
                metrics::histogram!("datastorage_write_duration_seconds", "table" => "audit_events")
                    .record(started.elapsed().as_secs_f64());
                let why = match result {
                    Ok(outcomes) => {
                        self.breaker.record_success();
                        return Ok(outcomes.into_iter().map(WriteOutcome::from).collect());
                    }
                    Err(RepositoryError::Unavailable(why)) => why,
                    Err(RepositoryError::OutcomeUnknown(why)) => {
                        maybe_stored = true;
                        why
                    }
                    Err(permanent) => {
                        // The store answered: it is up, the data (or the deployment) is at
                        // fault, and trying again or queueing cannot change that.
                        self.breaker.record_success();
                        return Err(permanent.into());
                    }
                };
                self.breaker.record_failure(self.clock.now());
                last_failure = Some(why);
                events = events.into_iter().map(may_exist).collect();
                match retries.next() {
                    Some(delay)
                        if self.breaker.allows_attempt(self.clock.now())
                            && tokio::time::Instant::now() + delay < deadline =>
                    {
                        self.clock.sleep(delay).await;
                    }
                    _ => break,
                }
            }
        }
        let why = last_failure.unwrap_or_else(|| Cause::msg("the circuit breaker is open"));
        self.fall_back(events, why, maybe_stored).await
    }

    /// Queues a write storage did not take. `maybe_stored`: an attempt went unanswered, so
    /// a failure here cannot say that nothing was written.
    async fn fall_back(
        &self,
        events: Vec<NewAuditEvent>,
        storage_failure: Cause,
        maybe_stored: bool,
    ) -> Result<Vec<WriteOutcome>, AuditError> {
        let unknown = |events: &[NewAuditEvent], cause: Cause| AuditError::OutcomeUnknown {
            event_ids: events.iter().map(|e| e.event.event_id).collect(),
            cause,
        };
        let Some(queue) = &self.queue else {
            return Err(if maybe_stored {
                unknown(&events, storage_failure)
            } else {
                AuditError::Unavailable(storage_failure)
            });
        };
        let events: Vec<NewAuditEvent> = events.into_iter().map(may_exist).collect();
        let limit = self.settings.enqueue_timeout;
        let enqueued = tokio::time::timeout(limit, queue.enqueue(&events))
            .await
            .unwrap_or_else(|_| {
                metrics::counter!("datastorage_storage_timeouts_total", "call" => "enqueue")
                    .increment(1);
                Err(QueueError::OutcomeUnknown(Cause::msg(format!(
                    "no answer within the enqueue's {} ms deadline",
                    limit.as_millis()
                ))))
            });
        // Neither store took it for sure: both causes go to the log.
        let both = |queue_failure: &QueueError| {
            Cause::msg(format!(
                "storage: {}; queue: {}",
                storage_failure.chain(),
                chain(queue_failure)
            ))
        };
        match enqueued {
            Ok(()) => Ok(vec![WriteOutcome::Queued; events.len()]),
            Err(e @ QueueError::OutcomeUnknown(_)) => Err(unknown(&events, both(&e))),
            Err(e) if maybe_stored => Err(unknown(&events, both(&e))),
            Err(e) => Err(AuditError::Unavailable(both(&e))),
        }
    }
}
