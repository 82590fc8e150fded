//! Group commit: concurrent single-event inserts written as one multi-row transaction.
//!
//! A commit costs PostgreSQL one WAL flush, so single-event inserts that each commit alone pay
//! a flush per event. Here a single-event insert joins a queue instead; a flusher takes
//! everything that queued while earlier groups were being written (up to `max_events`) and
//! writes it as one all-or-nothing batch. Each caller is answered only after that commit, so
//! "created" still means committed. A lone insert is written at once: there is no timer and
//! no added wait, only the flushes already in flight to queue behind.
//!
//! No caller pays for another's event: when a group is refused for good (a conflict, a
//! constraint), each of its events is written again on its own and gets its own answer.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use datastorage_application::ports::{InsertOutcome, RepositoryError};
use datastorage_domain::audit::NewAuditEvent;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::audit::Writer;

/// How single-event inserts are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommitSettings {
    /// Most events one group transaction holds.
    pub max_events: usize,
    /// Groups being written at once (each holds one pooled connection while it commits).
    pub max_in_flight: usize,
}

impl Default for GroupCommitSettings {
    fn default() -> Self {
        Self {
            max_events: 256,
            max_in_flight: 4,
        }
    }
}

type Reply = oneshot::Sender<Result<InsertOutcome, RepositoryError>>;

struct Pending {
    event: NewAuditEvent,
    reply: Reply,
}

/// The queue in front of the flusher. The flusher task starts with the first insert (inside
/// the runtime) and ends when the repository and every clone of it are dropped.
pub(crate) struct GroupCommit {
    writer: Writer,
    settings: GroupCommitSettings,
    queue: OnceLock<mpsc::Sender<Pending>>,
}

impl GroupCommit {
    pub(crate) fn new(writer: Writer, settings: GroupCommitSettings) -> Self {
        Self {
            writer,
            settings: GroupCommitSettings {
                max_events: settings.max_events.max(1),
                max_in_flight: settings.max_in_flight.max(1),
            },
            queue: OnceLock::new(),
        }
    }

    /// Writes `event` in the next group; returns once that group's transaction has ended.
    pub(crate) async fn insert(
        &self,
        event: NewAuditEvent,
    ) -> Result<InsertOutcome, RepositoryError> {
        let queue = self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(self.settings.max_events * 4);
            tokio::spawn(flush_groups(self.writer.clone(), receiver, self.settings));
            sender
        });
        let (reply, answer) = oneshot::channel();
        let lost = || RepositoryError::Unavailable("the group-commit flusher stopped".into());
        queue
            .send(Pending { event, reply })
            .await
            .map_err(|_| lost())?;
        answer.await.map_err(|_| lost())?
    }
}

/// Takes groups off the queue while fewer than `max_in_flight` are being written.
async fn flush_groups(
    writer: Writer,
    mut queue: mpsc::Receiver<Pending>,
    settings: GroupCommitSettings,
) {
    let in_flight = Arc::new(Semaphore::new(settings.max_in_flight));
    // An event whose id is already in the group being formed waits for the next one: a
    // group must not hold one id twice (its duplicate check reads what is committed).
    let mut held_back: Option<Pending> = None;
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let first = match held_back.take() {
            Some(p) => p,
            None => match queue.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut ids: HashSet<Uuid> = HashSet::from([*first.event.event.event_id.as_uuid()]);
        let mut group = vec![first];
        while group.len() < settings.max_events {
            let Ok(next) = queue.try_recv() else { break };
            if !ids.insert(*next.event.event.event_id.as_uuid()) {
                held_back = Some(next);
                break;
            }
            group.push(next);
        }
        let writer = writer.clone();
        tokio::spawn(async move {
            commit_group(&writer, group).await;
            drop(permit);
        });
    }
}

async fn commit_group(writer: &Writer, group: Vec<Pending>) {
    metrics_group_size(group.len());
    let (events, replies): (Vec<NewAuditEvent>, Vec<Reply>) =
        group.into_iter().map(|p| (p.event, p.reply)).unzip();
    match writer.write(&events).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(RepositoryError::Unavailable(why)) => {
            // Every caller retries (idempotently) or falls back to the queue on its own.
            for reply in replies {
                let _ = reply.send(Err(RepositoryError::Unavailable(why.clone())));
            }
        }
        Err(refused) if events.len() == 1 => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(refused));
            }
        }
        Err(_) => {
            for (event, reply) in events.iter().zip(replies) {
                let single = writer.write(std::slice::from_ref(event)).await;
                let _ = reply.send(single.and_then(|o| {
                    o.into_iter().next().ok_or_else(|| {
                        RepositoryError::Corrupt("insert returned no outcome".into())
                    })
                }));
            }
        }
    }
}

fn metrics_group_size(events: usize) {
    metrics::histogram!("datastorage_group_commit_events").record(events as f64);
}
