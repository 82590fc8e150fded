//! The durable write path of the audit use-cases (DESIGN.md §3 rules 1-4, 7): retries,
//! fallback to the queue, the circuit breaker. The store is a fake that fails on cue; time is
//! a manual clock, so retry delays cost nothing and nothing sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use datastorage_application::audit::{ReplaySettings, ReplayWorker, WriteOutcome};
use datastorage_application::circuit::BreakerSettings;
use datastorage_application::ports::*;
use datastorage_application::{AuditError, AuditService, AuditSettings, Clock, ManualClock};
use datastorage_domain::audit::*;
use datastorage_memory::{MemoryAuditEventRepository, MemoryDeadLetterQueue};
use datastorage_tests::support::EventFactory;

/// What the fake store answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Fails transiently this many times, then works.
    FailTimes(u32),
    AlwaysUnavailable,
    Refuses,
    /// Never answers (a database whose processes are stopped).
    Hangs,
    /// The call went out and the connection broke before an answer.
    Unanswered,
    /// Refuses the statement for a reason of the deployment (a missing grant).
    Faults,
}

struct FakeStore {
    behaviour: Behaviour,
    calls: AtomicU32,
    pings: AtomicU32,
    inner: MemoryAuditEventRepository,
}

impl FakeStore {
    fn new(behaviour: Behaviour) -> Arc<Self> {
        Arc::new(Self {
            behaviour,
            calls: AtomicU32::new(0),
            pings: AtomicU32::new(0),
            inner: MemoryAuditEventRepository::new(),
        })
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    async fn answer(&self) -> Result<(), RepositoryError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::Hangs => std::future::pending().await,
            Behaviour::Unanswered => Err(RepositoryError::OutcomeUnknown(
                datastorage_application::Cause::msg("connection reset"),
            )),
            Behaviour::Faults => Err(RepositoryError::Fault(datastorage_application::Cause::msg(
                "permission denied for table audit_events",
            ))),
            Behaviour::FailTimes(k) if n < k => Err(RepositoryError::Unavailable(
                datastorage_application::Cause::msg("connection refused"),
            )),
            Behaviour::FailTimes(_) => Ok(()),
            Behaviour::AlwaysUnavailable => Err(RepositoryError::Unavailable(
                datastorage_application::Cause::msg("connection refused"),
            )),
            Behaviour::Refuses => Err(RepositoryError::Rejected(
                datastorage_application::Cause::msg("check constraint"),
            )),
        }
    }
}

#[async_trait]
impl AuditEventRepository for FakeStore {
    async fn insert(&self, event: &NewAuditEvent) -> Result<InsertOutcome, RepositoryError> {
        self.answer().await?;
        self.inner.insert(event).await
    }
    async fn insert_batch(
        &self,
        events: &[NewAuditEvent],
    ) -> Result<Vec<InsertOutcome>, RepositoryError> {
        self.answer().await?;
        self.inner.insert_batch(events).await
    }
    async fn get(&self, id: EventId) -> Result<Option<AuditEvent>, RepositoryError> {
        self.inner.get(id).await
    }
    async fn query(&self, q: &AuditQuery) -> Result<AuditPage, RepositoryError> {
        self.inner.query(q).await
    }
    async fn correlation(
        &self,
        id: &CorrelationId,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        self.inner.correlation(id, limit).await
    }
    async fn correlations(
        &self,
        ids: &[CorrelationId],
        limit_each: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        self.inner.correlations(ids, limit_each).await
    }
    async fn workflow_choices(
        &self,
        target: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        self.inner
            .workflow_choices(target, since, until, limit)
            .await
    }
    async fn remediations_producing(
        &self,
        ids: &[CorrelationId],
        spec_hash: &str,
    ) -> Result<Vec<CorrelationId>, RepositoryError> {
        self.inner.remediations_producing(ids, spec_hash).await
    }
    async fn incidents(
        &self,
        query: &datastorage_domain::remediation::IncidentQuery,
    ) -> Result<datastorage_domain::remediation::IncidentKeys, RepositoryError> {
        self.inner.incidents(query).await
    }
    async fn ping(&self) -> Result<(), RepositoryError> {
        self.pings.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::AlwaysUnavailable => Err(RepositoryError::Unavailable(
                datastorage_application::Cause::msg("connection refused"),
            )),
            _ => Ok(()),
        }
    }
}

struct Setup {
    service: AuditService,
    store: Arc<FakeStore>,
    queue: Arc<MemoryDeadLetterQueue>,
    clock: Arc<ManualClock>,
}

fn setup(behaviour: Behaviour, with_queue: bool, capacity: u64) -> Setup {
    let queue = Arc::new(MemoryDeadLetterQueue::new(
        capacity,
        Duration::from_secs(60),
    ));
    let fallback = with_queue.then(|| queue.clone() as Arc<dyn DeadLetterQueue>);
    setup_with(behaviour, queue, fallback)
}

/// `queue` is what the test inspects; `fallback` what the service enqueues into.
fn setup_with(
    behaviour: Behaviour,
    queue: Arc<MemoryDeadLetterQueue>,
    fallback: Option<Arc<dyn DeadLetterQueue>>,
) -> Setup {
    let store = FakeStore::new(behaviour);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let service = AuditService::new(
        store.clone(),
        fallback,
        clock.clone(),
        AuditSettings {
            breaker: BreakerSettings {
                failure_threshold: 5,
                open_for: Duration::from_secs(1),
            },
            ..AuditSettings::default()
        },
    );
    Setup {
        service,
        store,
        queue,
        clock,
    }
}

fn draft() -> AuditEventDraft {
    EventFactory::default().draft("write-path")
}

async fn depth(queue: &MemoryDeadLetterQueue) -> u64 {
    queue.stats().await.unwrap().depth
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_then_committed() {
    let s = setup(Behaviour::FailTimes(1), true, 10);
    let recorded = s.service.record(draft()).await.unwrap();
    assert_eq!(recorded.outcome, WriteOutcome::Created);
    assert_eq!(s.store.calls(), 2);
    assert_eq!(depth(&s.queue).await, 0);
}

#[tokio::test]
async fn a_store_that_stays_down_gets_three_attempts_then_the_event_is_queued_once() {
    let s = setup(Behaviour::AlwaysUnavailable, true, 10);
    let before = s.clock.now();
    let recorded = s.service.record(draft()).await.unwrap();
    assert_eq!(recorded.outcome, WriteOutcome::Queued);
    assert_eq!(s.store.calls(), 3);
    assert_eq!(depth(&s.queue).await, 1);
    let waited = (s.clock.now() - before).num_milliseconds();
    assert!(
        (75..=150).contains(&waited),
        "50 ms + 100 ms with jitter, got {waited} ms"
    );
    let queued = s.queue.claim(10).await.unwrap().entries;
    assert_eq!(queued[0].events[0].event.event_id, recorded.event_id);
    assert_eq!(
        queued[0].events[0].id_origin,
        EventIdOrigin::Client,
        "replay must check for an earlier copy"
    );
}

#[tokio::test]
async fn a_permanent_refusal_is_never_retried_nor_queued() {
    let s = setup(Behaviour::Refuses, true, 10);
    assert!(matches!(
        s.service.record(draft()).await,
        Err(AuditError::Rejected(_))
    ));
    assert_eq!(s.store.calls(), 1);
    assert_eq!(depth(&s.queue).await, 0);
}

#[tokio::test]
async fn an_open_breaker_sends_writes_straight_to_the_queue_until_a_probe_succeeds() {
    let s = setup(Behaviour::FailTimes(5), true, 100);
    // Two requests: 3 + 2 failures open the breaker (threshold 5).
    assert_eq!(
        s.service.record(draft()).await.unwrap().outcome,
        WriteOutcome::Queued
    );
    assert_eq!(
        s.service.record(draft()).await.unwrap().outcome,
        WriteOutcome::Queued
    );
    assert_eq!(s.store.calls(), 5);
    assert!(s.service.breaker_open());
    // While open: no store call at all.
    for _ in 0..3 {
        assert_eq!(
            s.service.record(draft()).await.unwrap().outcome,
            WriteOutcome::Queued
        );
    }
    assert_eq!(s.store.calls(), 5);
    assert_eq!(depth(&s.queue).await, 5);
    // After open_for, one probe goes through; the store works again, so it commits.
    s.clock.advance(Duration::from_secs(1));
    assert_eq!(
        s.service.record(draft()).await.unwrap().outcome,
        WriteOutcome::Created
    );
    assert!(!s.service.breaker_open());
}

/// Opens the breaker: two requests, 3 + 2 transient failures (threshold 5), both queued.
async fn open_the_breaker(s: &Setup) {
    for _ in 0..2 {
        let recorded = s.service.record(draft()).await.unwrap();
        assert_eq!(recorded.outcome, WriteOutcome::Queued);
    }
    assert!(s.service.breaker_open());
}

#[tokio::test]
async fn with_a_replay_worker_requests_never_probe_and_the_worker_closes_the_breaker() {
    let s = setup(Behaviour::FailTimes(5), true, 100);
    let worker = ReplayWorker::new(&s.service, ReplaySettings::default()).unwrap();
    open_the_breaker(&s).await;
    assert_eq!(s.store.calls(), 5);
    // The open period is over, yet a request neither waits for a probe nor makes one.
    s.clock.advance(Duration::from_secs(1));
    assert_eq!(
        s.service.record(draft()).await.unwrap().outcome,
        WriteOutcome::Queued
    );
    assert_eq!(s.store.calls(), 5);
    // The worker pings, finds the store up, closes the breaker and replays the queue.
    let report = worker.run_once().await.unwrap();
    assert_eq!(s.store.pings.load(Ordering::SeqCst), 1);
    assert!(!report.storage_down && !s.service.breaker_open());
    assert_eq!(report.acked, 3);
    assert_eq!(depth(&s.queue).await, 0);
    assert_eq!(
        s.service.record(draft()).await.unwrap().outcome,
        WriteOutcome::Created
    );
}

#[tokio::test]
async fn while_the_breaker_is_open_the_replay_worker_claims_nothing() {
    let s = setup(Behaviour::AlwaysUnavailable, true, 100);
    let worker = ReplayWorker::new(&s.service, ReplaySettings::default()).unwrap();
    open_the_breaker(&s).await;
    let calls = s.store.calls();
    // Within the open period: no claim, no store call, no ping.
    let report = worker.run_once().await.unwrap();
    assert!(report.storage_down);
    assert_eq!(report.claimed, 0);
    assert_eq!(s.store.pings.load(Ordering::SeqCst), 0);
    // After it: one ping, which fails, so the breaker stays open and nothing is claimed.
    s.clock.advance(Duration::from_secs(1));
    let report = worker.run_once().await.unwrap();
    assert!(report.storage_down && s.service.breaker_open());
    assert_eq!(report.claimed, 0);
    assert_eq!(s.store.pings.load(Ordering::SeqCst), 1);
    assert_eq!(s.store.calls(), calls);
    assert_eq!(depth(&s.queue).await, 2, "both entries still queued");
}

#[tokio::test]
async fn without_a_queue_an_outage_is_unavailable_never_a_success() {
    let s = setup(Behaviour::AlwaysUnavailable, false, 10);
    assert!(matches!(
        s.service.record(draft()).await,
        Err(AuditError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_full_queue_during_an_outage_is_unavailable_and_keeps_what_it_holds() {
    let s = setup(Behaviour::AlwaysUnavailable, true, 1);
    assert_eq!(
        s.service.record(draft()).await.unwrap().outcome,
        WriteOutcome::Queued
    );
    assert!(matches!(
        s.service.record(draft()).await,
        Err(AuditError::Unavailable(_))
    ));
    assert_eq!(depth(&s.queue).await, 1);
}

#[tokio::test]
async fn a_batch_falls_back_whole_as_one_entry() {
    let s = setup(Behaviour::AlwaysUnavailable, true, 10);
    let batch = s
        .service
        .record_batch(vec![draft(), draft(), draft()])
        .await
        .unwrap();
    assert_eq!(batch.outcome(), WriteOutcome::Queued);
    let entries = s.queue.claim(10).await.unwrap().entries;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].events.len(), 3);
}

#[tokio::test]
async fn a_repeated_id_in_a_batch_is_written_once_and_other_content_under_it_is_a_conflict() {
    let s = setup(Behaviour::FailTimes(0), true, 10);
    let id = uuid::Uuid::now_v7().to_string();
    let mut same = draft();
    same.event_id = Some(id.clone());
    let batch = s
        .service
        .record_batch(vec![draft(), same.clone(), same.clone(), draft()])
        .await
        .unwrap();
    let outcomes: Vec<WriteOutcome> = batch.events.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            WriteOutcome::Created,
            WriteOutcome::Created,
            WriteOutcome::AlreadyExists,
            WriteOutcome::Created
        ]
    );
    assert_eq!(batch.events[1].event_id, batch.events[2].event_id);
    assert_eq!(s.store.calls(), 1, "one write for the whole batch");

    let mut other = same.clone();
    other.event_data = serde_json::json!({"changed": true}).into();
    let conflict = s.service.record_batch(vec![same, other]).await;
    assert!(matches!(conflict, Err(AuditError::Conflict { .. })));
    assert_eq!(
        s.store.calls(),
        1,
        "a conflict inside a batch writes nothing"
    );
}

/// A dead-letter queue whose enqueue goes unanswered: it hangs, or fails after sending.
struct UnansweringQueue {
    hangs: bool,
    inner: Arc<MemoryDeadLetterQueue>,
}

#[async_trait]
impl DeadLetterQueue for UnansweringQueue {
    async fn enqueue(&self, _events: &[NewAuditEvent]) -> Result<(), QueueError> {
        if self.hangs {
            std::future::pending().await
        } else {
            Err(QueueError::OutcomeUnknown(
                datastorage_application::Cause::msg("connection reset after the command"),
            ))
        }
    }
    async fn claim(&self, max: usize) -> Result<Claimed, QueueError> {
        self.inner.claim(max).await
    }
    async fn ack(&self, ids: &[QueueEntryId]) -> Result<(), QueueError> {
        self.inner.ack(ids).await
    }
    async fn requeue(
        &self,
        entry: &QueuedEntry,
        attempts: u32,
        not_before: chrono::DateTime<Utc>,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.inner
            .requeue(entry, attempts, not_before, reason)
            .await
    }
    async fn dead_letter(&self, id: &QueueEntryId, reason: &str) -> Result<(), QueueError> {
        self.inner.dead_letter(id, reason).await
    }
    async fn stats(&self) -> Result<QueueStats, QueueError> {
        self.inner.stats().await
    }
    async fn durability(&self) -> Result<QueueDurability, QueueError> {
        self.inner.durability().await
    }
}

fn setup_unanswering_queue(behaviour: Behaviour, hangs: bool) -> Setup {
    let queue = Arc::new(MemoryDeadLetterQueue::new(10, Duration::from_secs(60)));
    let fallback = Arc::new(UnansweringQueue {
        hangs,
        inner: queue.clone(),
    });
    setup_with(behaviour, queue, Some(fallback))
}

fn draft_with_id(id: uuid::Uuid) -> AuditEventDraft {
    AuditEventDraft {
        event_id: Some(id.to_string()),
        ..draft()
    }
}

/// Time is tokio's paused clock: the deadline passes when every task waits, not in real time.
#[tokio::test(start_paused = true)]
async fn a_store_that_hangs_costs_a_write_its_storage_deadline_then_the_event_is_queued() {
    let s = setup(Behaviour::Hangs, true, 10);
    let started = tokio::time::Instant::now();
    let recorded = s.service.record(draft()).await.unwrap();
    assert_eq!(recorded.outcome, WriteOutcome::Queued);
    assert_eq!(
        started.elapsed(),
        AuditSettings::default().retry_deadline,
        "one attempt used the whole storage deadline; no retry could start after it"
    );
    assert_eq!(s.store.calls(), 1);
    let queued = s.queue.claim(10).await.unwrap().entries;
    assert_eq!(queued[0].events[0].event.event_id, recorded.event_id);
}

#[tokio::test(start_paused = true)]
async fn timeouts_open_the_breaker_so_later_writes_skip_the_hung_store_at_once() {
    let s = setup(Behaviour::Hangs, true, 100);
    for _ in 0..5 {
        s.service.record(draft()).await.unwrap();
    }
    assert_eq!(s.store.calls(), 5);
    let started = tokio::time::Instant::now();
    let recorded = s.service.record(draft()).await.unwrap();
    assert_eq!(recorded.outcome, WriteOutcome::Queued);
    assert_eq!(started.elapsed(), Duration::ZERO, "straight to the queue");
    assert_eq!(
        s.store.calls(),
        5,
        "the open breaker kept the write off the store"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_queue_a_hung_store_is_an_unknown_outcome_naming_the_event_ids() {
    let s = setup(Behaviour::Hangs, false, 10);
    let id = uuid::Uuid::now_v7();
    match s.service.record(draft_with_id(id)).await {
        Err(AuditError::OutcomeUnknown { event_ids, .. }) => {
            assert_eq!(event_ids, vec![EventId::from_uuid(id)]);
        }
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_broken_after_sending_is_an_unknown_outcome_even_when_nothing_queued() {
    let s = setup(Behaviour::Unanswered, false, 10);
    assert!(matches!(
        s.service.record(draft()).await,
        Err(AuditError::OutcomeUnknown { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_queue_that_hangs_after_storage_refused_is_an_unknown_outcome_not_nothing_written() {
    let s = setup_unanswering_queue(Behaviour::AlwaysUnavailable, true);
    let started = tokio::time::Instant::now();
    let id = uuid::Uuid::now_v7();
    match s.service.record(draft_with_id(id)).await {
        Err(AuditError::OutcomeUnknown { event_ids, .. }) => {
            assert_eq!(event_ids, vec![EventId::from_uuid(id)]);
        }
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
    assert_eq!(
        started.elapsed(),
        AuditSettings::default().enqueue_timeout,
        "the retries' waits are the manual clock's; only the enqueue's deadline passed"
    );
}

#[tokio::test]
async fn a_queue_broken_after_sending_a_batch_names_every_event_of_it() {
    let s = setup_unanswering_queue(Behaviour::AlwaysUnavailable, false);
    let ids: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::now_v7()).collect();
    let drafts = ids.iter().map(|id| draft_with_id(*id)).collect();
    match s.service.record_batch(drafts).await {
        Err(AuditError::OutcomeUnknown { event_ids, .. }) => {
            let expected: Vec<EventId> = ids.into_iter().map(EventId::from_uuid).collect();
            assert_eq!(event_ids, expected);
        }
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fault_of_the_deployment_is_neither_retried_nor_queued() {
    let s = setup(Behaviour::Faults, true, 10);
    assert!(matches!(
        s.service.record(draft()).await,
        Err(AuditError::Internal(_))
    ));
    assert_eq!(s.store.calls(), 1, "not retried");
    assert_eq!(depth(&s.queue).await, 0, "not queued");
}
