//! The audit event's contracts against its one field list (`AuditEventDraft::FIELDS`): the
//! HTTP request and response schemas, the `audit_events` table, and the dead-letter queue's
//! entries. A field added to one and not the others fails here, naming the contract.

use std::collections::BTreeSet;
use std::time::Duration;

use datastorage_application::ports::DeadLetterQueue;
use datastorage_domain::audit::AuditEventDraft;
use datastorage_tests::support::{EventFactory, fresh_pool, test_redis_url, unique_prefix};
use serde_json::Value;

fn fields(extra: &[&str]) -> BTreeSet<String> {
    AuditEventDraft::FIELDS
        .iter()
        .chain(extra)
        .map(|f| f.to_string())
        .collect()
}

fn properties(document: &Value, schema: &str) -> BTreeSet<String> {
    document["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("the OpenAPI document has no schema {schema}"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_wire_request_and_response_carry_every_field_of_an_event() {
    let document: Value = serde_json::from_str(&datastorage_http::openapi_json()).unwrap();
    assert_eq!(properties(&document, "AuditEventRequest"), fields(&[]));
    // A stored event also says which partition holds it.
    // A stored event also says which partition holds it, and where the log has it.
    assert_eq!(
        properties(&document, "AuditEventDto"),
        fields(&["event_date", "log_index"])
    );
}

/// The log's leaf is the canonical JSON of the event exactly as read: the domain's read form
/// (what the sequencer hashes) must be the HTTP response without `log_index`, field for field
/// and value for value, with every optional field set and with none.
#[test]
fn the_read_form_the_log_hashes_is_the_http_response_without_log_index() {
    use datastorage_http::audit::dto::AuditEventDto;
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:30:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let f = EventFactory::at(at);
    let mut full = f.draft("read-form");
    full.parent_event_id = Some(uuid::Uuid::now_v7().to_string());
    full.parent_event_date = Some("2026-01-02".into());
    full.error_code = Some("E42".into());
    full.error_message = Some("went wrong: é \u{1} \"quoted\"".into());
    full.event_data = serde_json::json!({"big": 12345678901234567890u64, "f": 0.1, "e": 1e21, "n": null, "nested": {"b": [1, 2.5], "a": "x"}}).into();
    let minimal = datastorage_domain::audit::AuditEventDraft {
        version: "1.0".into(),
        event_type: "t.x".into(),
        event_timestamp: "2026-12-05T10:00:00.5Z".into(),
        event_category: "gateway".into(),
        event_action: "a".into(),
        event_outcome: "success".into(),
        correlation_id: "read-form".into(),
        event_data: serde_json::json!({}).into(),
        ..Default::default()
    };
    for draft in [full, minimal] {
        let event = f.build(draft).event;
        let mut wire = serde_json::to_value(AuditEventDto::from(&event)).unwrap();
        assert!(wire.as_object_mut().unwrap().remove("log_index").is_none());
        assert_eq!(wire, Value::Object(event.read_form()));
    }
}

#[tokio::test]
async fn the_audit_events_table_has_a_column_for_every_field_of_an_event() {
    let pool = fresh_pool().await;
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'audit_events'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    // Beside the event: its partition key, its content hash (idempotency), its leaf in the
    // log, and when the row was written.
    assert_eq!(
        columns.into_iter().collect::<BTreeSet<_>>(),
        fields(&["event_date", "content_hash", "leaf_hash", "created_at"])
    );
}

#[tokio::test]
async fn a_dead_letter_queue_entry_carries_every_field_of_an_event() {
    let prefix = unique_prefix();
    let queue = datastorage_redis::RedisStreamDeadLetterQueue::connect(
        datastorage_redis::RedisQueueSettings {
            endpoint: datastorage_redis::RedisEndpoint {
                url: test_redis_url(),
                ..Default::default()
            },
            key_prefix: prefix.clone(),
            consumer: "contracts".into(),
            capacity: 10,
            reclaim_idle: Duration::from_secs(60),
            min_replicas: 0,
            replica_timeout: Duration::from_secs(1),
        },
    )
    .await
    .unwrap();
    let f = EventFactory::default();
    let mut draft = f.draft("contracts");
    // Every optional field set, so that none is left out of the entry for being absent.
    draft.event_id = Some(uuid::Uuid::now_v7().to_string());
    draft.parent_event_id = Some(uuid::Uuid::now_v7().to_string());
    draft.parent_event_date = Some(f.now.date_naive().to_string());
    draft.error_code = Some("E42".into());
    draft.error_message = Some("boom".into());
    queue.enqueue(&[f.build(draft)]).await.unwrap();

    // The stream layout is the crate's documented one.
    let client = redis::Client::open(test_redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(format!("{prefix}:v2:{{{prefix}:dlq}}:audit"))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let events: Vec<u8> =
        redis::from_redis_value_ref(&entries.ids[0].map["events"]).expect("an events field");
    let events: Value = serde_json::from_slice(&events).unwrap();
    // The entry's `events` is a JSON array of events.
    let keys: BTreeSet<String> = events[0]
        .as_object()
        .unwrap_or_else(|| panic!("no event in the entry: {events}"))
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, fields(&[]));
}
