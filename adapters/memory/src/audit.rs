//! Audit events in a sorted map, newest-first iteration by (timestamp, id).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use async_trait::async_trait;
use chrono::NaiveDate;
use datastorage_application::ports::{AuditEventRepository, InsertOutcome, RepositoryError};
use datastorage_domain::audit::{
    AuditEvent, AuditPage, AuditQuery, CorrelationId, EventId, EventTimestamp, NewAuditEvent,
    PagePosition,
};
use datastorage_domain::remediation::{
    IncidentKeys, IncidentQuery, WorkflowChoice, incident, incident_keys, produces_spec,
};

/// Newest-first order is by (timestamp, id); the third part tells apart events that share
/// both (an event_id is unique only within its correlation), in the order they were stored.
pub(crate) type SortKey = (EventTimestamp, EventId, u64);

struct Stored {
    event: AuditEvent,
    content_hash: [u8; 32],
}

#[derive(Default)]
pub(crate) struct State {
    events: BTreeMap<SortKey, Stored>,
    /// Every stored event with this id, first stored first (usually one).
    by_id: HashMap<EventId, Vec<SortKey>>,
    stored: u64,
    /// Events committed and not yet in the log, in commit order, with their commit time.
    pub(crate) unsequenced: VecDeque<(SortKey, Instant)>,
}

impl State {
    /// Every stored event, in no particular order.
    pub(crate) fn all(&self) -> impl Iterator<Item = &AuditEvent> {
        self.events.values().map(|s| &s.event)
    }

    /// Removes every event dated in `[from, to)`; returns how many.
    pub(crate) fn remove_dated(&mut self, from: NaiveDate, to: NaiveDate) -> u64 {
        let gone: Vec<SortKey> = self
            .events
            .iter()
            .filter(|(_, s)| (from..to).contains(&s.event.event_date()))
            .map(|(k, _)| *k)
            .collect();
        for key in &gone {
            if let Some(s) = self.events.remove(key)
                && let Some(keys) = self.by_id.get_mut(&s.event.event_id)
            {
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    self.by_id.remove(&s.event.event_id);
                }
            }
        }
        gone.len() as u64
    }

    pub(crate) fn event(&self, key: &SortKey) -> Option<&AuditEvent> {
        self.events.get(key).map(|s| &s.event)
    }
}

impl State {
    /// What inserting `new` would do, without doing it.
    fn check(&self, new: &NewAuditEvent) -> Result<InsertOutcome, RepositoryError> {
        // Unique within its correlation: the same id in another correlation is another event.
        let stored = self.by_id.get(&new.event.event_id).and_then(|keys| {
            keys.iter()
                .filter_map(|k| self.events.get(k))
                .find(|s| s.event.correlation_id == new.event.correlation_id)
        });
        let Some(stored) = stored else {
            return Ok(InsertOutcome::Created);
        };
        let same = stored.content_hash == new.event.content_hash();
        if same {
            Ok(InsertOutcome::AlreadyExists)
        } else {
            Err(RepositoryError::Conflict {
                event_id: new.event.event_id,
            })
        }
    }

    fn put(&mut self, new: &NewAuditEvent) {
        let (timestamp, id) = new.event.sort_key();
        let key = (timestamp, id, self.stored);
        self.stored += 1;
        self.by_id.entry(id).or_default().push(key);
        self.unsequenced.push_back((key, Instant::now()));
        self.events.insert(
            key,
            Stored {
                event: new.event.clone(),
                content_hash: new.event.content_hash(),
            },
        );
    }
}

/// Audit events kept in process memory.
#[derive(Default, Clone)]
pub struct MemoryAuditEventRepository {
    state: Arc<RwLock<State>>,
}

impl MemoryAuditEventRepository {
    pub fn new() -> Self {
        Self::default()
    }

    // A panic while holding the lock cannot leave a half-written event (every write checks
    // first, then mutates), so a poisoned lock is safe to keep using.
    /// The transparency log over this repository's events.
    pub fn log(&self) -> crate::log::MemoryAuditLog {
        crate::log::MemoryAuditLog::new(self.clone())
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl AuditEventRepository for MemoryAuditEventRepository {
    async fn insert(&self, event: &NewAuditEvent) -> Result<InsertOutcome, RepositoryError> {
        let mut state = self.write();
        let outcome = state.check(event)?;
        if outcome == InsertOutcome::Created {
            state.put(event);
        }
        Ok(outcome)
    }

    async fn insert_batch(
        &self,
        events: &[NewAuditEvent],
    ) -> Result<Vec<InsertOutcome>, RepositoryError> {
        let mut state = self.write();
        let outcomes = events
            .iter()
            .map(|e| state.check(e))
            .collect::<Result<Vec<_>, _>>()?;
        for (event, outcome) in events.iter().zip(&outcomes) {
            if *outcome == InsertOutcome::Created {
                state.put(event);
            }
        }
        Ok(outcomes)
    }

    async fn get(&self, id: EventId) -> Result<Option<AuditEvent>, RepositoryError> {
        let state = self.read();
        // An id used in several correlations answers the first stored.
        Ok(state
            .by_id
            .get(&id)
            .and_then(|keys| keys.first())
            .and_then(|key| state.events.get(key))
            .map(|s| s.event.clone()))
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, RepositoryError> {
        let state = self.read();
        let upper = match query.position {
            PagePosition::After(cursor) => {
                Bound::Excluded((cursor.event_timestamp, cursor.event_id, 0))
            }
            PagePosition::Offset(_) => Bound::Unbounded,
        };
        let skip = match query.position {
            PagePosition::Offset(n) => usize::try_from(n).unwrap_or(usize::MAX),
            PagePosition::After(_) => 0,
        };
        let wanted = query.limit.get() as usize + 1;
        let events: Vec<AuditEvent> = state
            .events
            .range((Bound::Unbounded, upper))
            .rev()
            .map(|(_, s)| &s.event)
            .filter(|e| query.filter.matches(e))
            .skip(skip)
            .take(wanted)
            .cloned()
            .collect();
        let total = query.include_total.then(|| {
            state
                .events
                .values()
                .filter(|s| query.filter.matches(&s.event))
                .count() as u64
        });
        Ok(AuditPage::from_overfetch(events, query.limit, total))
    }

    async fn correlation(
        &self,
        correlation_id: &CorrelationId,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        self.correlations(std::slice::from_ref(correlation_id), limit)
            .await
    }

    async fn correlations(
        &self,
        correlation_ids: &[CorrelationId],
        limit_each: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        let wanted: HashSet<&CorrelationId> = correlation_ids.iter().collect();
        let mut taken: HashMap<&CorrelationId, u32> = HashMap::new();
        let state = self.read();
        Ok(state
            .events
            .values()
            .filter(|s| {
                let id = &s.event.correlation_id;
                wanted.contains(id) && {
                    let n = taken.entry(id).or_default();
                    *n += 1;
                    *n <= limit_each
                }
            })
            .map(|s| s.event.clone())
            .collect())
    }

    async fn workflow_choices(
        &self,
        target_resource: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        let state = self.read();
        Ok(state
            .events
            .values()
            .rev()
            .map(|s| &s.event)
            .filter(|e| (since..=until).contains(e.event_timestamp.as_datetime()))
            .filter(|e| {
                WorkflowChoice::of(e)
                    .and_then(|c| c.target_resource)
                    .is_some_and(|t| t == target_resource)
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn remediations_producing(
        &self,
        correlation_ids: &[CorrelationId],
        spec_hash: &str,
    ) -> Result<Vec<CorrelationId>, RepositoryError> {
        let wanted: HashSet<&CorrelationId> = correlation_ids.iter().collect();
        let state = self.read();
        let found: BTreeSet<CorrelationId> = state
            .events
            .values()
            .map(|s| &s.event)
            .filter(|e| wanted.contains(&e.correlation_id) && produces_spec(e, spec_hash))
            .map(|e| e.correlation_id.clone())
            .collect();
        Ok(found.into_iter().collect())
    }

    async fn incidents(&self, query: &IncidentQuery) -> Result<IncidentKeys, RepositoryError> {
        // The domain's own fold over every correlation: the reference the SQL must match.
        let state = self.read();
        let mut trails: BTreeMap<&CorrelationId, Vec<AuditEvent>> = BTreeMap::new();
        for stored in state.events.values() {
            trails
                .entry(&stored.event.correlation_id)
                .or_default()
                .push(stored.event.clone());
        }
        let rows = trails
            .into_iter()
            .filter_map(|(id, events)| incident(id, &events));
        Ok(incident_keys(rows, query))
    }

    async fn ping(&self) -> Result<(), RepositoryError> {
        Ok(())
    }
}
