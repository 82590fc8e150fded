//! Use-case: a verifiable export of events, streamed as NDJSON.
//!
//! The lines: a header (format, filters, the signed checkpoint every proof is against), one
//! line per event (the event as the API returns it, its `log_index`, leaf hash and RFC 9162
//! inclusion path), and a manifest (event count and SHA-256 of every byte before it, signed
//! with the log key as a C2SP signed note). Events are read in keyset pages, so memory stays
//! flat whatever the export's size, and a client that goes away stops the reading.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use datastorage_domain::audit::*;
use datastorage_domain::log::note;
use datastorage_domain::log::tiles::{TileId, needs};
use datastorage_domain::{Reason, ValidationErrors};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::AuditLogService;
use crate::cause::Cause;
use crate::error::AuditError;
use crate::ports::StoredCheckpoint;

/// The export format's name: the header's `format` and the manifest note's first line.
pub const EXPORT_FORMAT: &str = "datastorage-audit-export/v1";

/// Events read per page.
const PAGE: i64 = 500;

/// The filters as the client wrote them (the original contract's names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportInput {
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub correlation_id: Option<String>,
    pub event_category: Option<String>,
}

/// A validated export, fixed to the checkpoint it is proven against.
#[derive(Debug, Clone)]
pub struct PreparedExport {
    filter: AuditFilter,
    filters: Map<String, Value>,
    checkpoint: StoredCheckpoint,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    pub filters: Map<String, Value>,
    pub tree_size: u64,
    pub events: u64,
    /// Matching events left out because they were sequenced after the checkpoint.
    pub unproven: u64,
    /// False when the client went away before the manifest.
    pub complete: bool,
}

impl ExportSummary {
    /// The audit event that records this export: who asked, for what, how much was sent.
    pub fn audit_event(&self, actor: Option<&str>, at: DateTime<Utc>) -> AuditEventDraft {
        AuditEventDraft {
            version: "1.0".into(),
            event_type: "datastorage.audit.exported".into(),
            event_timestamp: at.to_rfc3339(),
            event_category: "orchestration".into(),
            event_action: "export".into(),
            event_outcome: if self.complete { "success" } else { "failure" }.into(),
            actor_type: actor.map(|_| "service".into()),
            actor_id: actor.map(str::to_owned),
            resource_type: Some("AuditExport".into()),
            correlation_id: format!("audit-export-{}", uuid::Uuid::now_v7()),
            event_data: json!({
                "filters": self.filters,
                "tree_size": self.tree_size,
                "events": self.events,
                "unproven_events": self.unproven,
                "complete": self.complete,
            })
            .into(),
            ..AuditEventDraft::default()
        }
    }
}

fn given(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// The stream's sink, hashing every byte it sends (the manifest signs the digest).
struct Lines<'a> {
    digest: Sha256,
    lines: &'a mpsc::Sender<Vec<u8>>,
}

impl Lines<'_> {
    /// False when the receiver is gone (the client disconnected).
    async fn send(&mut self, bytes: Vec<u8>) -> bool {
        self.digest.update(&bytes);
        self.lines.send(bytes).await.is_ok()
    }
}

/// One NDJSON line.
fn line(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

impl AuditLogService {
    /// Checks the filters and takes the latest checkpoint, before anything is streamed, so a
    /// bad request is a problem document rather than a broken stream.
    ///
    /// # Errors
    /// [`AuditError::Invalid`] naming each bad filter; [`AuditError::Unavailable`] before the
    /// first checkpoint.
    pub async fn prepare_export(&self, input: ExportInput) -> Result<PreparedExport, AuditError> {
        let now = self.clock.now();
        let mut errors = ValidationErrors::new();
        let mut filters = Map::new();
        let mut filter = AuditFilter::default();
        if let Some(v) = given(input.start_time) {
            filters.insert("start_time".into(), Value::String(v.clone()));
            filter.since = errors.collect(parse_time_bound("start_time", &v, now));
        }
        if let Some(v) = given(input.end_time) {
            filters.insert("end_time".into(), Value::String(v.clone()));
            filter.until = errors.collect(parse_time_bound("end_time", &v, now));
        }
        if let Some(v) = given(input.correlation_id) {
            filters.insert("correlation_id".into(), Value::String(v.clone()));
            filter.correlation_id = errors.collect(CorrelationId::parse(v));
        }
        if let Some(v) = given(input.event_category) {
            filters.insert("event_category".into(), Value::String(v.clone()));
            filter.event_category = errors.collect(EventCategory::parse(&v));
        }
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && until < since
        {
            errors.push_because(
                "end_time",
                Reason::Invalid,
                "must not be earlier than start_time",
            );
        }
        if !errors.is_empty() {
            return Err(AuditError::Invalid(errors));
        }
        Ok(PreparedExport {
            filter,
            filters,
            checkpoint: self.checkpoint().await?,
        })
    }

    /// Streams the export into `lines`, page by page. Stops early (summary `complete:
    /// false`) when the receiver is gone. The caller keeps the sender, so it can record the
    /// export before the stream ends.
    ///
    /// # Errors
    /// A store failed mid-way; the stream then ends without a manifest, which a verifier
    /// reports.
    pub async fn run_export(
        &self,
        export: PreparedExport,
        lines: &mpsc::Sender<Vec<u8>>,
    ) -> Result<ExportSummary, AuditError> {
        let size = export.checkpoint.tree_size;
        let mut summary = ExportSummary {
            filters: export.filters.clone(),
            tree_size: size,
            events: 0,
            unproven: 0,
            complete: false,
        };
        let mut out = Lines {
            digest: Sha256::new(),
            lines,
        };
        let header = json!({
            "type": "header",
            "format": EXPORT_FORMAT,
            "filters": export.filters,
            "tree_size": size,
            "checkpoint": export.checkpoint.note,
        });
        if !out.send(line(&header)).await {
            return Ok(summary);
        }
        let limit = PageLimit::parse(PAGE).map_err(AuditError::Invalid)?;
        let mut position = PagePosition::Offset(0);
        let corrupt = |e| AuditError::Internal(Cause::new(e));
        loop {
            let page = self
                .repository
                .query(&AuditQuery {
                    filter: export.filter.clone(),
                    limit,
                    position,
                    include_total: false,
                })
                .await?;
            let ids: Vec<EventId> = page.events.iter().map(|e| e.event_id).collect();
            let indexes = self.indexes(&ids).await?;
            let mut wanted: BTreeSet<TileId> = BTreeSet::new();
            for index in indexes.values().filter(|i| **i < size) {
                wanted.extend(needs::inclusion(*index, size));
            }
            let tiles = self.store.tiles(&wanted).await?;
            for event in &page.events {
                let Some(index) = indexes.get(&event.event_id).copied().filter(|i| *i < size)
                else {
                    summary.unproven += 1;
                    continue;
                };
                // The row's own hash, not the log's: a row changed since it was logged then
                // fails its proof in the verifier, which is the point.
                let leaf = event.leaf_hash();
                let path = tiles.inclusion_proof(index, size).map_err(corrupt)?;
                let mut read = event.read_form();
                read.insert("log_index".into(), Value::from(index));
                let entry = json!({
                    "type": "event",
                    "log_index": index,
                    "event": read,
                    "leaf_hash": leaf.to_base64(),
                    "audit_path": path.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
                });
                if !out.send(line(&entry)).await {
                    return Ok(summary);
                }
                summary.events += 1;
            }
            match (page.has_more, page.next_cursor) {
                (true, Some(cursor)) => position = PagePosition::After(cursor),
                _ => break,
            }
        }
        let sha256 = datastorage_domain::log::Hash(out.digest.clone().finalize().into());
        let body = format!(
            "{EXPORT_FORMAT}\n{}\n{}\n{}\n",
            self.origin(),
            summary.events,
            sha256.to_base64()
        );
        let signed =
            note::sign(&body, &self.signer).map_err(|e| AuditError::Internal(Cause::new(e)))?;
        let manifest = json!({
            "type": "manifest",
            "events": summary.events,
            "sha256": sha256.to_base64(),
            "note": signed,
        });
        summary.complete = out.send(line(&manifest)).await;
        Ok(summary)
    }
}
