//! The background step that turns committed events into leaves and signs checkpoints.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use datastorage_domain::log::Hash;
use datastorage_domain::log::checkpoint::{Checkpoint, sign_checkpoint};

use super::AuditLogService;
use crate::cause::{Cause, chain};
use crate::ports::{LogError, SequenceOutcome, StoredCheckpoint};

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SequencerStep {
    /// Another replica holds the log.
    pub busy: bool,
    pub appended: u64,
    pub size: u64,
    /// A checkpoint was signed in this step.
    pub signed: bool,
}

/// Sequences and signs; one per process (the store lets one act at a time across processes).
pub struct LogSequencer {
    log: AuditLogService,
    /// Size and time of the last checkpoint this sequencer signed.
    last_signed: Option<(u64, DateTime<Utc>)>,
}

impl LogSequencer {
    pub fn new(log: &AuditLogService) -> Self {
        Self {
            log: log.clone(),
            last_signed: None,
        }
    }

    /// Sequences one batch, then signs a checkpoint if one is due: the log grew and the last
    /// was signed at least `checkpoint_every` ago, or none for `idle_checkpoint_every`.
    ///
    /// # Errors
    /// The store failed; nothing of the step is half-done.
    pub async fn step(&mut self) -> Result<SequencerStep, LogError> {
        let (appended, size, root) = match self.log.store.sequence(self.log.settings.batch).await? {
            SequenceOutcome::Busy => {
                return Ok(SequencerStep {
                    busy: true,
                    ..SequencerStep::default()
                });
            }
            SequenceOutcome::Appended {
                appended,
                size,
                root,
                lags,
            } => {
                let lag = metrics::histogram!("datastorage_log_sequencing_lag_seconds");
                for seconds in lags {
                    lag.record(seconds);
                }
                metrics::gauge!("datastorage_log_size").set(size as f64);
                (appended, size, root)
            }
        };
        let now = self.log.clock.now();
        let since = |at: DateTime<Utc>| (now - at).to_std().unwrap_or_default();
        let due = match self.last_signed {
            None => true,
            Some((signed_size, at)) => {
                (signed_size != size && since(at) >= self.log.settings.checkpoint_every)
                    || since(at) >= self.log.settings.idle_checkpoint_every
            }
        };
        if due {
            self.sign(size, root, now).await?;
            self.last_signed = Some((size, now));
        }
        Ok(SequencerStep {
            busy: false,
            appended,
            size,
            signed: due,
        })
    }

    async fn sign(&self, size: u64, root: Hash, now: DateTime<Utc>) -> Result<(), LogError> {
        let note = Checkpoint::new(self.log.origin(), size, root, now)
            .and_then(|c| sign_checkpoint(&c, &self.log.signer))
            .map_err(|e| LogError::Corrupt(Cause::new(e)))?;
        self.log
            .store
            .save_checkpoint(&StoredCheckpoint {
                tree_size: size,
                root,
                signed_at: now,
                note,
            })
            .await?;
        metrics::gauge!("datastorage_log_checkpoint_size").set(size as f64);
        metrics::gauge!("datastorage_log_checkpoint_timestamp_seconds")
            .set(now.timestamp_millis() as f64 / 1000.0);
        Ok(())
    }

    /// Publishes the backlog (unsequenced events, the oldest one's age) as gauges.
    async fn publish_backlog(&self) {
        match self.log.store.backlog().await {
            Ok(backlog) => {
                metrics::gauge!("datastorage_log_unsequenced_events")
                    .set(backlog.unsequenced as f64);
                metrics::gauge!("datastorage_log_oldest_unsequenced_seconds")
                    .set(backlog.oldest_unsequenced_seconds.unwrap_or(0.0));
            }
            Err(e) => tracing::warn!(error = %chain(&e), "reading the log's backlog failed"),
        }
    }

    /// Steps until `stop` is set: again at once after a full batch, else after `poll_every`.
    /// The backlog gauges are refreshed about once per `checkpoint_every`.
    pub async fn run(mut self, stop: &AtomicBool) {
        let mut published: Option<DateTime<Utc>> = None;
        while !stop.load(Ordering::SeqCst) {
            let now = self.log.clock.now();
            let due = published.is_none_or(|at| {
                (now - at).to_std().unwrap_or_default() >= self.log.settings.checkpoint_every
            });
            if due {
                self.publish_backlog().await;
                published = Some(now);
            }
            match self.step().await {
                Ok(step) if step.appended as usize >= self.log.settings.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %chain(&e), "log sequencing step failed"),
            }
            self.log.clock.sleep(self.log.settings.poll_every).await;
        }
    }
}
