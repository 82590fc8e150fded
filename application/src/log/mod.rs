//! The transparency log's use-cases: sequencing and signing in the background, proofs and
//! checkpoints for readers, and the verdict on a correlation's trail.

mod export;
mod proofs;
mod sequencer;
mod verify_chain;

use std::sync::Arc;
use std::time::Duration;

use datastorage_domain::log::note::NoteSigner;

use crate::clock::Clock;
use crate::ports::{AuditEventRepository, AuditLogStore};

pub use export::{EXPORT_FORMAT, ExportInput, ExportSummary, PreparedExport};
pub use proofs::{ConsistencyProof, InclusionProof, LogStatus};
pub use sequencer::{LogSequencer, SequencerStep};
pub use verify_chain::{ChainVerdict, MissingEvent, TamperedEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// How often the sequencer looks for committed events when it found none.
    pub poll_every: Duration,
    /// Most events sequenced in one step (one transaction).
    pub batch: usize,
    /// Least time between two checkpoints of a growing log.
    pub checkpoint_every: Duration,
    /// Most time between two checkpoints of an idle log, so a quiet period can be proven.
    pub idle_checkpoint_every: Duration,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_millis(200),
            batch: 10_000,
            checkpoint_every: Duration::from_secs(1),
            idle_checkpoint_every: Duration::from_secs(300),
        }
    }
}

/// Entry point of the log's use-cases.
#[derive(Clone)]
pub struct AuditLogService {
    store: Arc<dyn AuditLogStore>,
    repository: Arc<dyn AuditEventRepository>,
    signer: Arc<NoteSigner>,
    clock: Arc<dyn Clock>,
    settings: LogSettings,
}

impl AuditLogService {
    /// `signer`'s key name is the log's origin (C2SP: the checkpoint's first line).
    pub fn new(
        store: Arc<dyn AuditLogStore>,
        repository: Arc<dyn AuditEventRepository>,
        signer: NoteSigner,
        clock: Arc<dyn Clock>,
        settings: LogSettings,
    ) -> Self {
        Self {
            store,
            repository,
            signer: Arc::new(signer),
            clock,
            settings,
        }
    }

    /// The verifier key (C2SP signed-note `vkey`) a client checks checkpoints with.
    pub fn vkey(&self) -> String {
        self.signer.verifier_key().vkey()
    }

    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    pub fn store(&self) -> &Arc<dyn AuditLogStore> {
        &self.store
    }
}
