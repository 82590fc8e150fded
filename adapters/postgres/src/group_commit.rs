//! Group commit: concurrent single-event inserts written as one multi-row transaction.
//!
//! A commit costs PostgreSQL one WAL flush, so single-event inserts that each commit alone pay
//! a flush per event. Here they are grouped (see `datastorage_application::grouping`): what
//! queued while earlier groups were being written is written as one all-or-nothing batch, and
//! each caller is answered only after that commit, so "created" still means committed.
//!
//! No caller pays for another's event: when a group is refused for good (a conflict, a
//! constraint), each of its events is written again on its own and gets its own answer.

use std::collections::HashSet;

use datastorage_application::ports::{Cause, InsertOutcome, RepositoryError};
use datastorage_domain::audit::NewAuditEvent;
use datastorage_grouping::{GroupSettings, GroupWrite, Grouped};
use uuid::Uuid;

use crate::writer::Writer;

/// How single-event inserts are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommitSettings {
    /// Most events one group transaction holds.
    pub max_events: usize,
    /// Groups being written at once (each holds one pooled connection while it commits).
    pub max_in_flight: usize,
    /// Longest any write (grouped or not) waits for a pooled connection. Past it nothing was
    /// sent, so the failure is a known "nothing written"; kept well inside a write's deadline
    /// so that a database refusing connections is reported as down, not as an unknown outcome.
    pub connection_wait: std::time::Duration,
}

impl Default for GroupCommitSettings {
    fn default() -> Self {
        Self {
            max_events: 256,
            max_in_flight: 4,
            connection_wait: std::time::Duration::from_millis(500),
        }
    }
}

/// Single-event inserts, group-committed.
pub(crate) struct GroupCommit(Grouped<GroupWriter>);

impl GroupCommit {
    pub(crate) fn new(writer: Writer, settings: GroupCommitSettings) -> Self {
        Self(Grouped::new(
            GroupWriter(writer),
            GroupSettings {
                max_items: settings.max_events,
                max_in_flight: settings.max_in_flight,
                gather: None,
            },
        ))
    }

    /// Writes `event` in the next group; returns once that group's transaction has ended.
    pub(crate) async fn insert(
        &self,
        event: NewAuditEvent,
    ) -> Result<InsertOutcome, RepositoryError> {
        self.0
            .write(event)
            .await
            // The flusher ended without answering, perhaps mid-write.
            .map_err(|stopped| RepositoryError::OutcomeUnknown(Cause::new(stopped)))?
    }
}

struct GroupWriter(Writer);

impl GroupWrite for GroupWriter {
    type Item = NewAuditEvent;
    type Answer = Result<InsertOutcome, RepositoryError>;
    /// The ids in the group: one id twice waits for the next group, because a group's
    /// duplicate check reads what is committed.
    type Membership = HashSet<Uuid>;

    fn admit(ids: &mut HashSet<Uuid>, event: &NewAuditEvent) -> bool {
        ids.insert(*event.event.event_id.as_uuid())
    }

    async fn write(&self, events: Vec<NewAuditEvent>) -> Vec<Self::Answer> {
        metrics::histogram!("datastorage_group_commit_events").record(events.len() as f64);
        match self.0.write(&events).await {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
            // Every caller retries (idempotently) or falls back to the queue on its own.
            // The store's state, not one event's: the same answer for every event.
            Err(
                e @ (RepositoryError::Unavailable(_)
                | RepositoryError::OutcomeUnknown(_)
                | RepositoryError::Fault(_)),
            ) => events.iter().map(|_| Err(e.clone())).collect(),
            Err(refused) if events.len() == 1 => vec![Err(refused)],
            Err(_) => {
                let mut answers = Vec::with_capacity(events.len());
                for event in &events {
                    let single = self.0.write(std::slice::from_ref(event)).await;
                    answers.push(single.and_then(|o| {
                        o.into_iter().next().ok_or_else(|| {
                            RepositoryError::Corrupt(Cause::msg("insert returned no outcome"))
                        })
                    }));
                }
                answers
            }
        }
    }
}
