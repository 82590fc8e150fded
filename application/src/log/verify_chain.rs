//! Use-case: is a correlation's trail what the log says it was?
//!
//! Three checks, each catching what the others cannot: every stored event of the correlation
//! hashes to its logged leaf (an edited row); every leaf logged for the correlation still has
//! its row (a deleted row, the newest rows, a whole correlation); and the log's tiles still
//! reproduce the latest signed root (tiles rewritten to match an edit).

use std::collections::{BTreeSet, HashMap};

use chrono::Datelike;
use datastorage_domain::audit::{AuditEvent, CorrelationId, EventId};
use datastorage_domain::log::Hash;
use datastorage_domain::log::merkle::verify_inclusion;
use datastorage_domain::log::tiles::{TILE_WIDTH, TileId, needs};

use super::AuditLogService;
use crate::error::AuditError;

/// Most events of one correlation verified in one call.
const MAX_EVENTS: u32 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TamperedEvent {
    pub event_id: EventId,
    pub log_index: u64,
    /// The leaf hash the log holds.
    pub expected_hash: Hash,
    /// The leaf hash of the row as stored now.
    pub actual_hash: Hash,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingEvent {
    pub event_id: EventId,
    pub log_index: u64,
    pub leaf_hash: Hash,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainVerdict {
    pub correlation_id: CorrelationId,
    pub is_valid: bool,
    /// Events of the correlation stored now.
    pub total_events: u64,
    /// Stored events whose leaf is in the log and matches.
    pub verified_events: u64,
    pub tampered_events: Vec<TamperedEvent>,
    pub missing_events: Vec<MissingEvent>,
    /// Stored events committed but not sequenced yet (normally for at most a second).
    pub unsequenced_events: Vec<EventId>,
    /// Logged events whose month retention dropped: gone lawfully, not missing.
    pub pruned_events: Vec<EventId>,
    /// The signed checkpoint the log was checked against (0: none signed yet).
    pub checkpoint_size: u64,
    /// Set when the log itself no longer matches its latest signed checkpoint.
    pub log_problem: Option<String>,
}

impl AuditLogService {
    /// Checks a correlation's stored events against the log and the log against its latest
    /// signed checkpoint.
    ///
    /// # Errors
    /// [`AuditError::Unavailable`] when a store is down.
    pub async fn verify_chain(
        &self,
        correlation_id: CorrelationId,
    ) -> Result<ChainVerdict, AuditError> {
        let checkpoint = self.store.latest_checkpoint().await?;
        let signed = checkpoint.as_ref().map_or(0, |c| c.tree_size);
        let stored = self
            .repository
            .correlation(&correlation_id, MAX_EVENTS)
            .await?;
        let entries = self.store.correlation_entries(&correlation_id).await?;
        let pruned_months = self.store.pruned_months().await?;
        let dates: HashMap<EventId, chrono::NaiveDate> =
            entries.iter().map(|e| (e.event_id, e.event_date)).collect();
        let pruned = |id: &EventId| {
            dates.get(id).is_some_and(|d| {
                pruned_months
                    .iter()
                    .any(|m| d.year() == m.year() && d.month() == m.month())
            })
        };
        let mut logged: HashMap<EventId, u64> =
            entries.iter().map(|e| (e.event_id, e.log_index)).collect();
        // A stored row moved into this correlation from another is still in the log.
        let strays: Vec<EventId> = stored
            .iter()
            .map(|e| e.event_id)
            .filter(|id| !logged.contains_key(id))
            .collect();
        if !strays.is_empty() {
            logged.extend(self.store.indexes(&strays).await?);
        }

        let mut wanted: BTreeSet<TileId> = BTreeSet::new();
        if signed > 0 {
            wanted.extend(needs::root(signed));
        }
        for &index in logged.values() {
            wanted.insert(TileId {
                level: 0,
                index: index / TILE_WIDTH,
            });
            if index < signed {
                wanted.extend(needs::inclusion(index, signed));
            }
        }
        let tiles = self.store.tiles(&wanted).await?;

        let mut log_problem = None;
        if let Some(checkpoint) = &checkpoint {
            match tiles.root(signed) {
                Ok(root) if root == checkpoint.root => {}
                Ok(_) | Err(_) => {
                    log_problem = Some(format!(
                        "the log no longer reproduces its latest signed checkpoint (tree size \
                         {signed}): its stored hashes were changed"
                    ));
                }
            }
        }

        let by_id: HashMap<EventId, &AuditEvent> = stored.iter().map(|e| (e.event_id, e)).collect();
        let mut verdict = ChainVerdict {
            correlation_id: correlation_id.clone(),
            is_valid: false,
            total_events: stored.len() as u64,
            verified_events: 0,
            tampered_events: Vec::new(),
            missing_events: Vec::new(),
            unsequenced_events: stored
                .iter()
                .map(|e| e.event_id)
                .filter(|id| !logged.contains_key(id))
                .collect(),
            checkpoint_size: signed,
            log_problem,
            pruned_events: Vec::new(),
        };
        let mut by_index: Vec<(u64, EventId)> = logged.iter().map(|(id, i)| (*i, *id)).collect();
        by_index.sort_unstable();
        for (index, event_id) in by_index {
            let Ok(expected) = tiles.leaf(index) else {
                verdict.log_problem.get_or_insert_with(|| {
                    format!("the log's hashes for log_index {index} are missing")
                });
                continue;
            };
            if let Some(checkpoint) = checkpoint.as_ref().filter(|_| index < signed) {
                let proven = tiles
                    .inclusion_proof(index, signed)
                    .ok()
                    .and_then(|path| {
                        verify_inclusion(index, signed, &expected, &path, &checkpoint.root).ok()
                    })
                    .is_some();
                if !proven {
                    verdict.log_problem.get_or_insert_with(|| {
                        format!("log_index {index} is not in the latest signed checkpoint's tree")
                    });
                }
            }
            let current = match by_id.get(&event_id) {
                Some(event) => Some((*event).clone()),
                // Not stored under this correlation: edited into another, or deleted.
                None => self.repository.get(event_id).await?,
            };
            match current {
                Some(event) => {
                    let actual = event.leaf_hash();
                    if actual == expected {
                        verdict.verified_events += 1;
                    } else {
                        verdict.tampered_events.push(TamperedEvent {
                            event_id,
                            log_index: index,
                            expected_hash: expected,
                            actual_hash: actual,
                            message: format!(
                                "the stored event no longer hashes to its leaf at log_index {index}"
                            ),
                        });
                    }
                }
                None if pruned(&event_id) => verdict.pruned_events.push(event_id),
                None => verdict.missing_events.push(MissingEvent {
                    event_id,
                    log_index: index,
                    leaf_hash: expected,
                    message: format!("logged at log_index {index}, but no longer stored"),
                }),
            }
        }
        verdict.is_valid = verdict.tampered_events.is_empty()
            && verdict.missing_events.is_empty()
            && verdict.log_problem.is_none();
        Ok(verdict)
    }
}
