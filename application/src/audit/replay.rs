//! Use-case: replay the dead-letter queue into storage, exactly once.
//!
//! A pass claims a batch of entries, writes all their events in one transaction with the
//! idempotency check on (an event may already be stored: the original request's commit may
//! have succeeded after all, or a previous pass may have crashed before acknowledging), and
//! acknowledges the entries only after the commit. A crash anywhere leaves entries pending,
//! to be claimed again and written again harmlessly. An entry the store refuses for good is
//! moved to the dead-letter stream with the reason, without holding up the others.

use crate::cause::{Cause, chain};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use datastorage_domain::audit::NewAuditEvent;
use datastorage_domain::retry::RetryPolicy;

use super::AuditService;
use super::durable_write::may_exist;
use super::record_batch::dedupe;
use crate::circuit::CircuitBreaker;
use crate::clock::Clock;
use crate::ports::{
    AuditEventRepository, DeadLetterQueue, QueueEntryId, QueueError, QueuedEntry, RepositoryError,
};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplaySettings {
    /// Entries claimed per pass.
    pub batch_entries: usize,
    /// Wait when the queue is empty.
    pub idle_wait: Duration,
    /// Waits while storage (or the queue) is down: grows from `base` to `cap`.
    pub outage_backoff: RetryPolicy,
    /// Per-entry backoff when one entry fails on its own.
    pub entry_backoff: RetryPolicy,
    /// Failed attempts after which an entry is dead-lettered.
    pub max_attempts: u32,
    /// Longest one pass's write (or the probe's ping) waits for storage: a store that hangs
    /// holds the worker no longer than this, and the entries stay pending.
    pub write_timeout: Duration,
}

impl Default for ReplaySettings {
    fn default() -> Self {
        Self {
            batch_entries: 200,
            idle_wait: Duration::from_millis(250),
            outage_backoff: RetryPolicy {
                attempts: u32::MAX,
                base: Duration::from_millis(250),
                multiplier: 2.0,
                cap: Duration::from_secs(5),
                jitter: 0.2,
            },
            entry_backoff: RetryPolicy {
                attempts: u32::MAX,
                base: Duration::from_secs(1),
                multiplier: 2.0,
                cap: Duration::from_secs(300),
                jitter: 0.2,
            },
            max_attempts: 10,
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub claimed: usize,
    pub acked: usize,
    pub events_stored: usize,
    pub dead_lettered: usize,
    /// Entries put back for a later attempt (per-entry backoff).
    pub deferred: usize,
    /// Storage was unavailable: claimed entries stay pending for the next pass.
    pub storage_down: bool,
}

/// Drains the dead-letter queue into storage.
pub struct ReplayWorker {
    repository: Arc<dyn AuditEventRepository>,
    queue: Arc<dyn DeadLetterQueue>,
    clock: Arc<dyn Clock>,
    breaker: Arc<CircuitBreaker>,
    settings: ReplaySettings,
}

impl ReplayWorker {
    /// `None` when the service has no queue.
    pub fn new(service: &AuditService, settings: ReplaySettings) -> Option<Self> {
        let queue = service.queue.clone()?;
        Some(Self::over_queue(service, queue, settings))
    }

    /// Another worker of the same service over its own handle on the queue (a consumer of
    /// its own), so that several workers claim disjoint entries and one's Redis round trips
    /// overlap another's PostgreSQL write. It shares the service's circuit breaker.
    pub fn over_queue(
        service: &AuditService,
        queue: Arc<dyn DeadLetterQueue>,
        settings: ReplaySettings,
    ) -> Self {
        service.breaker.probe_in_background();
        Self {
            repository: service.repository.clone(),
            queue,
            clock: service.clock.clone(),
            breaker: service.breaker.clone(),
            settings,
        }
    }

    /// Builds a worker over explicit parts (tests inject a queue that fails on cue).
    pub fn with_parts(
        repository: Arc<dyn AuditEventRepository>,
        queue: Arc<dyn DeadLetterQueue>,
        clock: Arc<dyn Clock>,
        settings: ReplaySettings,
    ) -> Self {
        Self {
            repository,
            queue,
            clock,
            breaker: Arc::new(CircuitBreaker::new(Default::default())),
            settings,
        }
    }

    /// Runs passes until `stop` is set, then makes one final pass while storage is up.
    pub async fn run(&self, stop: &AtomicBool) {
        let mut outage = 0u32;
        while !stop.load(Ordering::SeqCst) {
            let wait = match self.run_once().await {
                Ok(report) if report.storage_down => {
                    outage += 1;
                    // Not longer than the breaker's open period: this worker is the one that
                    // probes, so it sets how soon writes find a recovered store.
                    let backoff = self.settings.outage_backoff.delay(outage, 0.5);
                    Some(backoff.min(self.breaker.open_period()))
                }
                Ok(report) => {
                    outage = 0;
                    (report.claimed == 0).then_some(self.settings.idle_wait)
                }
                Err(e) => {
                    outage += 1;
                    tracing::warn!(error = %chain(&e), "replay: dead-letter queue unavailable");
                    Some(self.settings.outage_backoff.delay(outage, 0.5))
                }
            };
            if let Some(wait) = wait {
                self.clock.sleep(wait).await;
            }
        }
        self.drain().await;
    }

    /// Passes until the queue has nothing claimable or storage is down (used at shutdown).
    pub async fn drain(&self) -> ReplayReport {
        let mut total = ReplayReport::default();
        loop {
            match self.run_once().await {
                Ok(r) => {
                    total.claimed += r.claimed;
                    total.acked += r.acked;
                    total.events_stored += r.events_stored;
                    total.dead_lettered += r.dead_lettered;
                    total.deferred += r.deferred;
                    if r.storage_down || r.claimed == 0 || r.acked + r.dead_lettered == 0 {
                        total.storage_down |= r.storage_down;
                        return total;
                    }
                }
                Err(_) => return total,
            }
        }
    }

    /// One pass over up to `batch_entries` entries.
    ///
    /// # Errors
    /// When the queue itself cannot be reached; nothing is lost (entries stay pending).
    pub async fn run_once(&self) -> Result<ReplayReport, QueueError> {
        if !self.storage_may_be_up().await {
            return Ok(ReplayReport {
                storage_down: true,
                ..ReplayReport::default()
            });
        }
        let claimed = self.queue.claim(self.settings.batch_entries).await?;
        let mut report = ReplayReport {
            claimed: claimed.entries.len() + claimed.undecodable.len(),
            ..ReplayReport::default()
        };
        for bad in &claimed.undecodable {
            tracing::error!(entry = %bad.id.0, reason = %bad.reason, "replay: undecodable entry dead-lettered");
            self.queue
                .dead_letter(&bad.id, &format!("undecodable entry: {}", bad.reason))
                .await?;
            report.dead_lettered += 1;
        }

        let now = self.clock.now();
        let (due, early): (Vec<QueuedEntry>, Vec<QueuedEntry>) = claimed
            .entries
            .into_iter()
            .partition(|e| e.not_before.is_none_or(|t| t <= now));
        for entry in &early {
            let not_before = entry.not_before.unwrap_or(now);
            self.queue
                .requeue(entry, entry.attempts, not_before, "not yet due")
                .await?;
            report.deferred += 1;
        }
        if due.is_empty() {
            return Ok(report);
        }

        match self.write(&due).await {
            Ok(stored) => {
                self.breaker.record_success();
                let ids: Vec<QueueEntryId> = due.iter().map(|e| e.id.clone()).collect();
                self.queue.ack(&ids).await?;
                report.acked += ids.len();
                report.events_stored += stored;
                metrics::counter!("datastorage_dlq_replayed_entries_total")
                    .increment(ids.len() as u64);
            }
            Err(e) if e.is_transient() => {
                self.breaker.record_failure(self.clock.now());
                report.storage_down = true;
            }
            // Not the entries' fault, nor an outage: they stay pending (never dead-lettered
            // for it) while the cause is logged for an operator.
            Err(RepositoryError::Fault(why)) => {
                tracing::error!(cause = %why.chain(), "replay: storage refused the write; entries stay queued");
                report.storage_down = true;
            }
            // Something in the batch is refused for good: find it entry by entry.
            Err(_) => {
                self.breaker.record_success();
                for entry in &due {
                    self.replay_alone(entry, &mut report).await?;
                    if report.storage_down {
                        break;
                    }
                }
            }
        }
        if report.dead_lettered > 0 {
            metrics::counter!("datastorage_dlq_dead_lettered_entries_total")
                .increment(report.dead_lettered as u64);
        }
        Ok(report)
    }

    /// While the breaker is open, entries are not claimed (they could not be written, and
    /// claiming costs both Redis and the service); once its open period is over, the store is
    /// pinged, and its answer closes or reopens the breaker.
    async fn storage_may_be_up(&self) -> bool {
        if !self.breaker.is_open() {
            return true;
        }
        if !self.breaker.allows_probe(self.clock.now()) {
            return false;
        }
        let ping = tokio::time::timeout(self.settings.write_timeout, self.repository.ping());
        match ping.await {
            Ok(Ok(())) => {
                self.breaker.record_success();
                true
            }
            Ok(Err(_)) | Err(_) => {
                self.breaker.record_failure(self.clock.now());
                false
            }
        }
    }

    async fn replay_alone(
        &self,
        entry: &QueuedEntry,
        report: &mut ReplayReport,
    ) -> Result<(), QueueError> {
        match self.write(std::slice::from_ref(entry)).await {
            Ok(stored) => {
                self.queue.ack(std::slice::from_ref(&entry.id)).await?;
                report.acked += 1;
                metrics::counter!("datastorage_dlq_replayed_entries_total").increment(1);
                report.events_stored += stored;
            }
            Err(
                RepositoryError::Unavailable(why)
                | RepositoryError::OutcomeUnknown(why)
                | RepositoryError::Fault(why),
            ) => {
                let attempts = entry.attempts + 1;
                if attempts >= self.settings.max_attempts {
                    let reason = format!("gave up after {attempts} attempts: {}", why.chain());
                    tracing::error!(entry = %entry.id.0, %reason, "replay: entry dead-lettered");
                    self.queue.dead_letter(&entry.id, &reason).await?;
                    report.dead_lettered += 1;
                } else {
                    let delay = self.settings.entry_backoff.delay(attempts, 0.5);
                    let not_before = self.clock.now()
                        + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                    self.queue
                        .requeue(entry, attempts, not_before, &why.chain())
                        .await?;
                    report.deferred += 1;
                }
            }
            Err(refused) => {
                let refused = chain(&refused);
                tracing::error!(entry = %entry.id.0, reason = %refused, "replay: entry dead-lettered");
                self.queue.dead_letter(&entry.id, &refused).await?;
                report.dead_lettered += 1;
            }
        }
        Ok(())
    }

    /// Writes every event of `entries` in one transaction; returns how many were new. The
    /// same event queued twice (two requests both fell back) is written once.
    async fn write(&self, entries: &[QueuedEntry]) -> Result<usize, RepositoryError> {
        let events: Vec<NewAuditEvent> = entries
            .iter()
            .flat_map(|e| e.events.iter().cloned())
            .collect();
        let (unique, _) =
            dedupe(events).map_err(|event_id| RepositoryError::Conflict { event_id })?;
        let unique: Vec<NewAuditEvent> = unique.into_iter().map(may_exist).collect();
        let outcomes = tokio::time::timeout(
            self.settings.write_timeout,
            self.repository.insert_batch(&unique),
        )
        .await
        .map_err(|_| {
            RepositoryError::OutcomeUnknown(Cause::msg(format!(
                "no answer within the replay's {} ms write timeout",
                self.settings.write_timeout.as_millis()
            )))
        })??;
        Ok(outcomes
            .iter()
            .filter(|o| **o == crate::ports::InsertOutcome::Created)
            .count())
    }
}
