//! Use-cases of a log reader: the latest checkpoint, inclusion and consistency proofs, status.

use datastorage_domain::ValidationErrors;
use datastorage_domain::audit::EventId;
use datastorage_domain::log::Hash;
use datastorage_domain::log::tiles::needs;

use super::AuditLogService;
use crate::cause::Cause;
use crate::error::AuditError;
use crate::ports::{LogError, StoredCheckpoint};

/// RFC 9162 inclusion proof of one event's leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub event_id: EventId,
    pub log_index: u64,
    pub tree_size: u64,
    pub leaf_hash: Hash,
    pub audit_path: Vec<Hash>,
}

/// RFC 9162 consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    pub consistency_path: Vec<Hash>,
}

/// The log's state for operators.
#[derive(Debug, Clone, PartialEq)]
pub struct LogStatus {
    pub origin: String,
    pub size: u64,
    pub unsequenced: u64,
    pub oldest_unsequenced_seconds: Option<f64>,
    pub checkpoint_size: Option<u64>,
    pub checkpoint_age_seconds: Option<f64>,
}

impl From<LogError> for AuditError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Unavailable(why) => AuditError::Unavailable(why),
            LogError::Fault(why) | LogError::Corrupt(why) => AuditError::Internal(why),
        }
    }
}

fn invalid(field: &str, message: String) -> AuditError {
    AuditError::Invalid(ValidationErrors::single(field, message))
}

impl AuditLogService {
    /// The latest signed checkpoint.
    ///
    /// # Errors
    /// [`AuditError::Unavailable`] before the first checkpoint is signed (moments after the
    /// first start) or when the store is down.
    pub async fn checkpoint(&self) -> Result<StoredCheckpoint, AuditError> {
        self.store
            .latest_checkpoint()
            .await?
            .ok_or_else(|| AuditError::Unavailable(Cause::msg("no checkpoint has been signed yet")))
    }

    /// Proof that `event_id`'s leaf is in the tree of `tree_size` leaves (default: the latest
    /// checkpoint's size, which is also the largest size proved).
    ///
    /// # Errors
    /// [`AuditError::NotLogged`] for an event not sequenced (or not stored);
    /// [`AuditError::TreeNotSigned`] for a size beyond the latest checkpoint;
    /// [`AuditError::NotInTree`] for a size that does not cover the event.
    pub async fn inclusion(
        &self,
        event_id: EventId,
        tree_size: Option<u64>,
    ) -> Result<InclusionProof, AuditError> {
        let checkpoint = self.checkpoint().await?;
        let size = tree_size.unwrap_or(checkpoint.tree_size);
        if size > checkpoint.tree_size {
            return Err(AuditError::TreeNotSigned {
                requested: size,
                latest: checkpoint.tree_size,
            });
        }
        let index = *self
            .store
            .indexes(&[event_id])
            .await?
            .get(&event_id)
            .ok_or(AuditError::NotLogged(event_id))?;
        if index >= size {
            return Err(AuditError::NotInTree {
                event_id,
                log_index: index,
                tree_size: size,
            });
        }
        let tiles = self.store.tiles(&needs::inclusion(index, size)).await?;
        let corrupt = |e| AuditError::Internal(Cause::new(e));
        Ok(InclusionProof {
            event_id,
            log_index: index,
            tree_size: size,
            leaf_hash: tiles.leaf(index).map_err(corrupt)?,
            audit_path: tiles.inclusion_proof(index, size).map_err(corrupt)?,
        })
    }

    /// Proof that the tree of `first` leaves is a prefix of the tree of `second`.
    ///
    /// # Errors
    /// [`AuditError::Invalid`] unless `1 <= first <= second`; [`AuditError::TreeNotSigned`] for
    /// a `second` beyond the latest checkpoint.
    pub async fn consistency(
        &self,
        first: u64,
        second: u64,
    ) -> Result<ConsistencyProof, AuditError> {
        let checkpoint = self.checkpoint().await?;
        if second > checkpoint.tree_size {
            return Err(AuditError::TreeNotSigned {
                requested: second,
                latest: checkpoint.tree_size,
            });
        }
        if first == 0 || first > second {
            return Err(invalid(
                "first",
                "must be at least 1 and at most second".to_owned(),
            ));
        }
        let tiles = self.store.tiles(&needs::consistency(first, second)).await?;
        Ok(ConsistencyProof {
            first,
            second,
            consistency_path: tiles
                .consistency_proof(first, second)
                .map_err(|e| AuditError::Internal(Cause::new(e)))?,
        })
    }

    /// Log indexes of the sequenced events among `ids` (for event reads).
    ///
    /// # Errors
    /// [`AuditError::Unavailable`].
    pub async fn indexes(
        &self,
        ids: &[EventId],
    ) -> Result<std::collections::HashMap<EventId, u64>, AuditError> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        Ok(self.store.indexes(ids).await?)
    }

    /// Size, backlog and checkpoint age.
    ///
    /// # Errors
    /// [`AuditError::Unavailable`].
    pub async fn status(&self) -> Result<LogStatus, AuditError> {
        let backlog = self.store.backlog().await?;
        let checkpoint = self.store.latest_checkpoint().await?;
        let now = self.clock.now();
        Ok(LogStatus {
            origin: self.origin().to_owned(),
            size: backlog.size,
            unsequenced: backlog.unsequenced,
            oldest_unsequenced_seconds: backlog.oldest_unsequenced_seconds,
            checkpoint_size: checkpoint.as_ref().map(|c| c.tree_size),
            checkpoint_age_seconds: checkpoint.map(|c| {
                (now - c.signed_at)
                    .to_std()
                    .unwrap_or_default()
                    .as_secs_f64()
            }),
        })
    }
}
