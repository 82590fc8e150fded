//! `datastorage export verify`: checks an export offline, with nothing but the file and the
//! log's verifier key, and names the first line that fails.

use std::path::Path;

use datastorage_application::log::EXPORT_FORMAT;
use datastorage_domain::log::checkpoint::{Checkpoint, open_checkpoint};
use datastorage_domain::log::merkle::{leaf_hash, verify_inclusion};
use datastorage_domain::log::note::{self, NoteVerifier};
use datastorage_domain::log::{Hash, jcs};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What a verified export holds.
#[derive(Debug)]
pub struct ExportReport {
    pub events: u64,
    pub checkpoint: Checkpoint,
}

/// The first failure: where, which event, why.
#[derive(Debug, thiserror::Error)]
#[error("line {line}{}: {reason}", event_id.as_ref().map(|id| format!(" (event {id})")).unwrap_or_default())]
pub struct ExportVerifyError {
    pub line: usize,
    pub event_id: Option<String>,
    pub reason: String,
}

fn fail(line: usize, reason: impl Into<String>) -> ExportVerifyError {
    ExportVerifyError {
        line,
        event_id: None,
        reason: reason.into(),
    }
}

fn text<'a>(v: &'a Value, field: &str, line: usize) -> Result<&'a str, ExportVerifyError> {
    v.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| fail(line, format!("no {field}")))
}

fn number(v: &Value, field: &str, line: usize) -> Result<u64, ExportVerifyError> {
    v.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| fail(line, format!("no {field}")))
}

/// Checks every line of the export at `path` against `vkey`.
///
/// # Errors
/// The first line that fails, and why.
pub fn verify_export(path: &Path, vkey: &str) -> Result<ExportReport, ExportVerifyError> {
    let verifier =
        NoteVerifier::from_vkey(vkey.trim()).map_err(|e| fail(0, format!("invalid vkey: {e}")))?;
    let bytes = std::fs::read(path).map_err(|e| fail(0, format!("cannot read: {e}")))?;
    let mut digest = Sha256::new();
    let mut checkpoint: Option<Checkpoint> = None;
    let mut events = 0u64;
    let mut rest: &[u8] = &bytes;
    let mut number_of_line = 0usize;
    while !rest.is_empty() {
        number_of_line += 1;
        let n = number_of_line;
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| fail(n, "the line does not end: the export was cut short"))?;
        let (raw, tail) = rest.split_at(end + 1);
        rest = tail;
        let value: Value =
            serde_json::from_slice(raw).map_err(|e| fail(n, format!("not a JSON line: {e}")))?;
        match (value.get("type").and_then(Value::as_str), &checkpoint) {
            (Some("header"), None) if n == 1 => {
                if text(&value, "format", n)? != EXPORT_FORMAT {
                    return Err(fail(n, format!("not a {EXPORT_FORMAT} export")));
                }
                let cp = open_checkpoint(text(&value, "checkpoint", n)?, &verifier, None)
                    .map_err(|e| fail(n, format!("the checkpoint: {e}")))?;
                if number(&value, "tree_size", n)? != cp.size {
                    return Err(fail(n, "tree_size is not the checkpoint's"));
                }
                checkpoint = Some(cp);
            }
            (Some("event"), Some(cp)) => {
                verify_event(&value, cp, n)?;
                events += 1;
            }
            (Some("manifest"), Some(cp)) => {
                let found: Hash = Hash(digest.clone().finalize().into());
                verify_manifest(&value, cp, &verifier, events, &found, n)?;
                if !rest.is_empty() {
                    return Err(fail(n + 1, "lines after the manifest"));
                }
                return Ok(ExportReport {
                    events,
                    checkpoint: cp.clone(),
                });
            }
            _ => {
                return Err(fail(
                    n,
                    "unexpected line: a header, events, then a manifest",
                ));
            }
        }
        digest.update(raw);
    }
    Err(fail(
        number_of_line,
        "no manifest: the export is incomplete",
    ))
}

fn verify_event(value: &Value, cp: &Checkpoint, n: usize) -> Result<(), ExportVerifyError> {
    let mut event = value
        .get("event")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| fail(n, "no event"))?;
    let id = event
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let failed = |reason: String| ExportVerifyError {
        line: n,
        event_id: id.clone(),
        reason,
    };
    let index = number(value, "log_index", n)?;
    if event.remove("log_index").and_then(|v| v.as_u64()) != Some(index) {
        return Err(failed("the event's log_index is not the line's".into()));
    }
    let leaf = leaf_hash(&jcs::canonicalize(&Value::Object(event)));
    if Hash::from_base64(text(value, "leaf_hash", n)?) != Some(leaf) {
        return Err(failed(
            "the event does not hash to its leaf_hash: it was changed".into(),
        ));
    }
    let path = value
        .get("audit_path")
        .and_then(Value::as_array)
        .ok_or_else(|| failed("no audit_path".into()))?
        .iter()
        .map(|h| h.as_str().and_then(Hash::from_base64))
        .collect::<Option<Vec<Hash>>>()
        .ok_or_else(|| failed("audit_path holds something other than base64 hashes".into()))?;
    verify_inclusion(index, cp.size, &leaf, &path, &cp.root)
        .map_err(|e| failed(format!("not included in the checkpoint's tree: {e}")))
}

fn verify_manifest(
    value: &Value,
    cp: &Checkpoint,
    verifier: &NoteVerifier,
    events: u64,
    digest: &Hash,
    n: usize,
) -> Result<(), ExportVerifyError> {
    let body = note::open(text(value, "note", n)?, verifier)
        .map_err(|e| fail(n, format!("the manifest's signature: {e}")))?;
    let expected = format!(
        "{EXPORT_FORMAT}\n{}\n{events}\n{}\n",
        cp.origin,
        digest.to_base64()
    );
    if body != expected {
        let signed: Vec<&str> = body.lines().collect();
        let reason = if signed.get(2) != Some(&events.to_string().as_str()) {
            format!(
                "the manifest signs {} events, the file holds {events}",
                signed.get(2).unwrap_or(&"?")
            )
        } else {
            "the lines before the manifest are not the ones it signed (a line was changed, \
             dropped, added or moved)"
                .to_owned()
        };
        return Err(fail(n, reason));
    }
    if number(value, "events", n)? != events || text(value, "sha256", n)? != digest.to_base64() {
        return Err(fail(n, "the manifest's fields differ from its signed note"));
    }
    Ok(())
}
