//! A queue entry's fields: written as `events` (the codec's encoding) and `enqueued_at`, plus
//! the replay's bookkeeping once a replay of it failed; read back from redis-rs's stream
//! replies.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use datastorage_application::ports::{Cause, QueueEntryId, QueueError, QueuedEntry};
use datastorage_domain::audit::NewAuditEvent;
use redis::Value;
use redis::streams::StreamId;

use crate::codec;

/// Entry fields for `events`. Fields at their default (no attempts, no backoff, no error)
/// are left out: a fresh entry is `events` and `enqueued_at` only, which is less for the
/// enqueue script to copy on the path every request takes while PostgreSQL is down.
pub(super) fn encode(
    events: &[NewAuditEvent],
    attempts: u32,
    enqueued_at: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
    last_error: &str,
) -> Result<Vec<(&'static str, String)>, QueueError> {
    let mut fields = vec![
        (
            "events",
            codec::encode(events).map_err(|e| QueueError::Unavailable(Cause::msg(e)))?,
        ),
        ("enqueued_at", enqueued_at.to_rfc3339()),
    ];
    if attempts > 0 {
        fields.push(("attempts", attempts.to_string()));
    }
    if let Some(t) = not_before {
        fields.push(("not_before", t.to_rfc3339()));
    }
    if !last_error.is_empty() {
        fields.push(("last_error", last_error.to_owned()));
    }
    Ok(fields)
}

/// Whether the entry was deleted after it was delivered: Redis then answers its id with no
/// fields, and every entry this queue writes has fields.
pub(super) fn vanished(entry: &StreamId) -> bool {
    entry.map.is_empty()
}

/// A field's bytes, as written.
pub(super) fn bytes(value: &Value) -> Option<Vec<u8>> {
    redis::from_redis_value_ref(value).ok()
}

fn text(fields: &HashMap<String, Value>, name: &str) -> Option<String> {
    fields
        .get(name)
        .and_then(|v| redis::from_redis_value_ref(v).ok())
}

/// The entry as the replay worker takes it, or why it cannot be.
pub(super) fn decode(entry: &StreamId) -> Result<QueuedEntry, String> {
    let events = bytes(entry.map.get("events").ok_or("no events field")?)
        .ok_or("the events field is not a string")?;
    let events = codec::decode(&events)?;
    let when = |name: &str| {
        text(&entry.map, name)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Ok(QueuedEntry {
        id: QueueEntryId(entry.id.clone()),
        events,
        attempts: text(&entry.map, "attempts")
            .and_then(|a| a.parse().ok())
            .unwrap_or(0),
        enqueued_at: when("enqueued_at").unwrap_or_else(Utc::now),
        not_before: when("not_before"),
    })
}

/// Milliseconds part of a stream id (`<ms>-<seq>`).
pub(super) fn id_millis(id: &str) -> Option<i64> {
    id.split('-').next()?.parse().ok()
}
