//! Black-box API tests: a real service on a free port, driven over HTTP. Every case runs
//! twice, against the in-memory adapters (`memory::*`) and a fresh PostgreSQL database
//! (`postgres::*`).

use std::collections::HashSet;

use chrono::{Duration, Utc};
use datastorage_tests::support::{Storage, TestApp, event_body, spawn_app_with};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

const EVENTS: &str = "/api/v1/audit/events";
const BATCH: &str = "/api/v1/audit/events/batch";

macro_rules! api_cases {
    ($storage:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(datastorage_tests::support::spawn_app($storage).await).await;
            }
        )+
    };
}

macro_rules! all_api_cases {
    ($storage:expr) => {
        api_cases!($storage;
            a_posted_event_is_201_and_can_be_read_back,
            resending_an_event_id_is_200_and_stores_one_event,
            an_event_id_with_other_content_is_409,
            an_event_id_reused_in_another_correlation_is_another_event,
            a_notification_record_is_one_notification_event_of_its_remediation,
            the_largest_numbers_in_event_data_read_back_as_sent,
            fifty_concurrent_sends_of_one_event_id_store_one_event,
            a_batch_is_201_with_ids_in_request_order,
            a_batch_with_one_bad_event_writes_nothing_and_names_its_index,
            keyset_pagination_walks_every_event_once,
            since_accepts_relative_durations,
            query_filters_combine,
            every_producer_category_is_stored_and_filterable,
            the_correlation_trail_is_a_parent_child_tree,
            health_probes_answer,
            swagger_ui_and_the_openapi_document_are_served,
            every_bad_input_is_a_4xx_problem_and_writes_nothing,
        );
    };
}

mod memory {
    all_api_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    all_api_cases!(datastorage_tests::support::Storage::Postgres);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_resent_event_is_one_row_in_postgres() {
        let app =
            datastorage_tests::support::spawn_app(datastorage_tests::support::Storage::Postgres)
                .await;
        let id = uuid::Uuid::now_v7();
        let mut body = super::event_body("pg-rows");
        body["event_id"] = serde_json::json!(id.to_string());
        for _ in 0..3 {
            let status = app.post_json(super::EVENTS, &body).await.status();
            assert!(status.is_success(), "{status}");
        }
        let pool = sqlx::PgPool::connect(app.database_url.as_deref().unwrap())
            .await
            .unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE event_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 1);
    }
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

async fn trail_total(app: &TestApp, correlation: &str) -> u64 {
    let page = json_of(
        app.get(&format!("{EVENTS}?correlation_id={correlation}"))
            .await,
    )
    .await;
    page["pagination"]["total"].as_u64().unwrap()
}

async fn a_posted_event_is_201_and_can_be_read_back(app: TestApp) {
    let body = event_body("api-read");
    let response = app.post_json(EVENTS, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = json_of(response).await;
    let id = created["event_id"].as_str().unwrap().to_owned();
    assert_eq!(created["message"], "audit event created");

    let event = json_of(app.get(&format!("{EVENTS}/{id}")).await).await;
    for field in [
        "event_type",
        "event_category",
        "correlation_id",
        "event_data",
        "severity",
        "actor_id",
    ] {
        assert_eq!(event[field], body[field], "{field}");
    }
    assert_eq!(event["event_date"], Utc::now().date_naive().to_string());

    let page = json_of(app.get(&format!("{EVENTS}?correlation_id=api-read")).await).await;
    assert_eq!(page["data"][0]["event_id"], id.as_str());
    assert_eq!(
        page["pagination"],
        json!({"limit": 50, "offset": 0, "total": 1, "has_more": false})
    );
}

async fn resending_an_event_id_is_200_and_stores_one_event(app: TestApp) {
    let mut body = event_body("api-idem");
    body["event_id"] = json!(uuid::Uuid::now_v7().to_string());
    let first = app.post_json(EVENTS, &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = json_of(first).await;
    let again = app.post_json(EVENTS, &body).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again = json_of(again).await;
    assert_eq!(again["event_id"], first["event_id"]);
    assert_eq!(again["event_timestamp"], first["event_timestamp"]);
    assert_eq!(trail_total(&app, "api-idem").await, 1);
}

async fn an_event_id_reused_in_another_correlation_is_another_event(app: TestApp) {
    // The contract: an event_id is unique within its correlation.
    let id = uuid::Uuid::now_v7().to_string();
    let mut first = event_body("api-reuse-a");
    first["event_id"] = json!(id);
    let mut second = event_body("api-reuse-b");
    second["event_id"] = json!(id);
    assert_eq!(
        app.post_json(EVENTS, &first).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.post_json(EVENTS, &second).await.status(),
        StatusCode::CREATED
    );
    // In one batch too, and each is then a repeat of itself only.
    let mut third = event_body("api-reuse-c");
    third["event_id"] = json!(id);
    let batch = app.post_json(BATCH, &json!([third, second])).await;
    assert_eq!(batch.status(), StatusCode::CREATED);
    assert_eq!(
        app.post_json(EVENTS, &second).await.status(),
        StatusCode::OK
    );
    for c in ["api-reuse-a", "api-reuse-b", "api-reuse-c"] {
        assert_eq!(trail_total(&app, c).await, 1, "{c}");
    }
}

async fn a_notification_record_is_one_notification_event_of_its_remediation(app: TestApp) {
    const NOTIFICATIONS: &str = "/api/v1/audit/notifications";
    let sent_at = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let record = json!({
        "remediation_id": "api-notify", "notification_id": "n-1", "recipient": "ops@example.com",
        "channel": "slack", "message_summary": "pod OOMKilled", "status": "failed",
        "sent_at": sent_at, "error_message": "Slack API timeout", "escalation_level": 1,
    });
    let first = app.post_json(NOTIFICATIONS, &record).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = json_of(first).await;
    assert_eq!(first["notification_id"], "n-1");
    assert_eq!(first["sent_at"], sent_at.as_str());
    assert!(first["id"].as_i64().unwrap() > 0);
    // Absent optional fields are left out, as the original service does.
    assert!(first.get("delivery_status").is_none(), "{first}");

    let again = app.post_json(NOTIFICATIONS, &record).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again = json_of(again).await;
    assert_eq!(
        (&again["id"], &again["event_id"]),
        (&first["id"], &first["event_id"])
    );

    let mut other = record.clone();
    other["status"] = json!("sent");
    let conflict = app.post_json(NOTIFICATIONS, &other).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert!(
        json_of(conflict).await["detail"]
            .as_str()
            .unwrap()
            .contains("n-1")
    );

    let mut stale = record.clone();
    stale["notification_id"] = json!("n-2");
    stale["sent_at"] = json!("2025-11-03T12:00:00Z");
    let refused = json_of(app.post_json(NOTIFICATIONS, &stale).await).await;
    assert!(refused["field_errors"]["sent_at"].is_string(), "{refused}");

    let page = json_of(
        app.get(&format!("{EVENTS}?correlation_id=api-notify"))
            .await,
    )
    .await;
    assert_eq!(page["pagination"]["total"], 1);
    let event = &page["data"][0];
    assert_eq!(event["event_id"], first["event_id"]);
    assert_eq!(
        (
            &event["event_category"],
            &event["event_type"],
            &event["event_outcome"]
        ),
        (
            &json!("notification"),
            &json!("notification.message.failed"),
            &json!("failure")
        )
    );
    assert_eq!(event["event_data"]["recipient"], "ops@example.com");
    assert_eq!(event["error_message"], "Slack API timeout");
}

/// Found by the property-based API run: PostgreSQL's jsonb keeps -1.7976931348623157e308 as
/// a 309-digit integer, which the reader could not parse back (a 500 on every read of it).
async fn the_largest_numbers_in_event_data_read_back_as_sent(app: TestApp) {
    let mut body = event_body("api-extremes");
    body["event_data"] = json!({"min": f64::MIN, "max": f64::MAX, "tiny": 5e-324, "big": 1e300});
    let created = json_of(app.post_json(EVENTS, &body).await).await;
    let id = created["event_id"].as_str().unwrap();
    let response = app.get(&format!("{EVENTS}/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await["event_data"], body["event_data"]);
}

async fn an_event_id_with_other_content_is_409(app: TestApp) {
    let mut body = event_body("api-409");
    body["event_id"] = json!(uuid::Uuid::now_v7().to_string());
    assert_eq!(
        app.post_json(EVENTS, &body).await.status(),
        StatusCode::CREATED
    );
    body["event_outcome"] = json!("failure");
    let response = app.post_json(EVENTS, &body).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let problem = json_of(response).await;
    assert_eq!(problem["type"], "https://kubernaut.io/problems/conflict");
    let stored = json_of(
        app.get(&format!("{EVENTS}/{}", body["event_id"].as_str().unwrap()))
            .await,
    )
    .await;
    assert_eq!(stored["event_outcome"], "success", "the original is kept");
}

async fn fifty_concurrent_sends_of_one_event_id_store_one_event(app: TestApp) {
    let mut body = event_body("api-race");
    body["event_id"] = json!(uuid::Uuid::now_v7().to_string());
    let statuses: Vec<StatusCode> = join_all((0..50).map(|_| app.post_json(EVENTS, &body)))
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(trail_total(&app, "api-race").await, 1);
}

async fn a_batch_is_201_with_ids_in_request_order(app: TestApp) {
    let id = uuid::Uuid::now_v7().to_string();
    let mut second = event_body("api-batch");
    second["event_id"] = json!(id);
    let batch = json!([event_body("api-batch"), second, event_body("api-batch")]);
    let response = app.post_json(BATCH, &batch).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json_of(response).await;
    let ids = body["event_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], id.as_str());
    assert_eq!(trail_total(&app, "api-batch").await, 3);
    // The same client id again in a batch of its own: nothing new, so 200.
    let again = app.post_json(BATCH, &json!([second])).await;
    assert_eq!(again.status(), StatusCode::OK);
}

async fn a_batch_with_one_bad_event_writes_nothing_and_names_its_index(app: TestApp) {
    let mut bad = event_body("api-batch-bad");
    bad["event_category"] = json!("billing");
    let batch = json!([
        event_body("api-batch-bad"),
        event_body("api-batch-bad"),
        bad
    ]);
    let response = app.post_json(BATCH, &batch).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem = json_of(response).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("event at index 2"),
        "{problem}"
    );
    assert!(
        problem["field_errors"]["[2].event_category"].is_string(),
        "{problem}"
    );
    assert_eq!(trail_total(&app, "api-batch-bad").await, 0);
}

async fn keyset_pagination_walks_every_event_once(app: TestApp) {
    let batch: Vec<Value> = (0..7)
        .map(|i| {
            let mut e = event_body("api-keyset");
            e["event_timestamp"] = json!((Utc::now() - Duration::seconds(100 + i)).to_rfc3339());
            e
        })
        .collect();
    let created = json_of(app.post_json(BATCH, &Value::Array(batch)).await).await;
    let mut expected: Vec<String> = created["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    expected.truncate(7);

    let mut seen = Vec::new();
    let mut url = format!("{EVENTS}?correlation_id=api-keyset&limit=3&include_total=false");
    loop {
        let page = json_of(app.get(&url).await).await;
        assert!(page["pagination"].get("total").is_none());
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event_id"].as_str().unwrap().to_owned()),
        );
        app.post_json(EVENTS, &event_body("api-keyset")).await; // a newer event mid-walk
        match page["pagination"]["next_cursor"].as_str() {
            Some(cursor) => {
                url = format!(
                    "{EVENTS}?correlation_id=api-keyset&limit=3&include_total=false&cursor={cursor}"
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, expected, "newest first, each exactly once");
}

async fn since_accepts_relative_durations(app: TestApp) {
    let mut old = event_body("api-since");
    old["event_timestamp"] = json!((Utc::now() - Duration::hours(30)).to_rfc3339());
    app.post_json(EVENTS, &old).await;
    app.post_json(EVENTS, &event_body("api-since")).await;
    let recent = json_of(
        app.get(&format!("{EVENTS}?correlation_id=api-since&since=24h"))
            .await,
    )
    .await;
    assert_eq!(recent["pagination"]["total"], 1);
    let week = json_of(
        app.get(&format!("{EVENTS}?correlation_id=api-since&since=7d"))
            .await,
    )
    .await;
    assert_eq!(week["pagination"]["total"], 2);
}

async fn query_filters_combine(app: TestApp) {
    let mut failure = event_body("api-filter");
    failure["event_outcome"] = json!("failure");
    failure["event_data"] = json!({"reason": "timeout", "attempt": 3});
    app.post_json(BATCH, &json!([event_body("api-filter"), failure]))
        .await;
    let q = |params: &str| format!("{EVENTS}?correlation_id=api-filter&{params}");
    let total = |v: Value| v["pagination"]["total"].as_u64().unwrap();
    assert_eq!(
        total(json_of(app.get(&q("event_outcome=failure")).await).await),
        1
    );
    assert_eq!(
        total(json_of(app.get(&q("detail_key=reason&detail_value=timeout")).await).await),
        1
    );
    assert_eq!(
        total(json_of(app.get(&q("detail_key=attempt&detail_value=3")).await).await),
        1
    );
    assert_eq!(total(json_of(app.get(&q("event_category=gateway&severity=critical&actor_id=gateway-service&resource_type=Signal&resource_id=fp-abc123&event_type=gateway.signal.received")).await).await), 2);
    assert_eq!(
        total(json_of(app.get(&q("event_outcome=pending")).await).await),
        0
    );
}

/// The fifteen categories the original's producers send (issue 25 step 0).
const PRODUCER_CATEGORIES: [&str; 15] = [
    "gateway",
    "notification",
    "analysis",
    "signalprocessing",
    "workflow",
    "orchestration",
    "execution",
    "aiagent",
    "workflowexecution",
    "approval",
    "effectiveness",
    "actiontype",
    "apifrontend",
    "security",
    "agentsession",
];

async fn every_producer_category_is_stored_and_filterable(app: TestApp) {
    let events: Vec<Value> = PRODUCER_CATEGORIES
        .iter()
        .map(|category| {
            let mut e = event_body("api-categories");
            e["event_category"] = json!(category);
            e
        })
        .collect();
    let response = app.post_json(BATCH, &Value::Array(events)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for category in PRODUCER_CATEGORIES {
        let page = json_of(
            app.get(&format!(
                "{EVENTS}?correlation_id=api-categories&event_category={category}"
            ))
            .await,
        )
        .await;
        assert_eq!(page["pagination"]["total"], 1, "{category}");
        assert_eq!(page["data"][0]["event_category"], category);
    }
}

async fn the_correlation_trail_is_a_parent_child_tree(app: TestApp) {
    let at = |s: i64| json!((Utc::now() - Duration::seconds(s)).to_rfc3339());
    let ids: Vec<String> = (0..4).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut events = Vec::new();
    for (i, parent, age) in [
        (0, None, 40),
        (1, Some(0), 30),
        (2, Some(1), 20),
        (3, Some(0), 10),
    ] {
        let mut e = event_body("api-trail");
        e["event_id"] = json!(ids[i]);
        e["event_timestamp"] = at(age);
        if let Some(p) = parent {
            e["parent_event_id"] = json!(ids[p]);
        }
        events.push(e);
    }
    events.reverse(); // arrival order must not matter
    assert_eq!(
        app.post_json(BATCH, &Value::Array(events)).await.status(),
        StatusCode::CREATED
    );
    let trail = json_of(app.get("/api/v1/audit/correlations/api-trail").await).await;
    let shape: Vec<(String, u64)> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["event"]["event_id"].as_str().unwrap().to_owned(),
                n["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = vec![
        (ids[0].clone(), 0),
        (ids[1].clone(), 1),
        (ids[2].clone(), 2),
        (ids[3].clone(), 1),
    ];
    assert_eq!(shape, expected);
    assert_eq!(trail["events"][0]["children"], json!([ids[1], ids[3]]));
    assert_eq!(trail["truncated"], false);
    let empty = json_of(app.get("/api/v1/audit/correlations/nobody").await).await;
    assert_eq!(empty["events"], json!([]));
}

async fn health_probes_answer(app: TestApp) {
    let live = app.get("/health/live").await;
    assert_eq!(live.status(), StatusCode::OK);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let ready = json_of(ready).await;
    assert_eq!(ready["checks"]["audit_storage"], "ok");
    assert_eq!(ready["shutting_down"], false);
    assert_eq!(json_of(app.get("/health").await).await["status"], "healthy");
}

async fn swagger_ui_and_the_openapi_document_are_served(app: TestApp) {
    let ui = app.get("/swagger-ui/").await;
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger-ui"));
    let doc = json_of(app.get("/api-docs/openapi.json").await).await;
    assert!(doc["paths"]["/api/v1/audit/events"]["post"].is_object());
}

/// One bad request and what it must get.
struct BadInput {
    what: &'static str,
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    slug: &'static str,
}

fn bad_inputs() -> Vec<BadInput> {
    let with = |f: &dyn Fn(&mut Value)| {
        let mut e = event_body("bad-input");
        f(&mut e);
        serde_json::to_vec(&e).unwrap()
    };
    let json_post = |what, body: Vec<u8>, status, slug| BadInput {
        what,
        method: "POST",
        path: EVENTS.into(),
        content_type: Some("application/json"),
        body,
        status,
        slug,
    };
    let get = |what, path: String, status, slug| BadInput {
        what,
        method: "GET",
        path,
        content_type: None,
        body: Vec::new(),
        status,
        slug,
    };
    let mut deep = json!({});
    for _ in 0..10 {
        deep = json!({ "n": deep });
    }
    let valid = serde_json::to_vec(&event_body("bad-input")).unwrap();
    let q = |params: &str| format!("{EVENTS}?{params}");
    vec![
        json_post(
            "malformed JSON",
            b"{\"version\": ".to_vec(),
            400,
            "malformed-json",
        ),
        json_post("empty body", Vec::new(), 400, "malformed-json"),
        json_post(
            "trailing garbage after the JSON",
            [valid.clone(), b" x".to_vec()].concat(),
            400,
            "malformed-json",
        ),
        BadInput {
            content_type: None,
            ..json_post(
                "no Content-Type",
                valid.clone(),
                415,
                "unsupported-media-type",
            )
        },
        BadInput {
            content_type: Some("text/plain"),
            ..json_post(
                "Content-Type text/plain",
                valid.clone(),
                415,
                "unsupported-media-type",
            )
        },
        json_post(
            "body is an array, not an object",
            b"[1,2]".to_vec(),
            400,
            "validation-error",
        ),
        json_post(
            "required field missing (event_type)",
            with(&|e| {
                e.as_object_mut().unwrap().remove("event_type");
            }),
            400,
            "validation-error",
        ),
        json_post(
            "required field null (correlation_id)",
            with(&|e| e["correlation_id"] = Value::Null),
            400,
            "validation-error",
        ),
        json_post(
            "wrong type (event_type: 5)",
            with(&|e| e["event_type"] = json!(5)),
            400,
            "validation-error",
        ),
        json_post(
            "empty event_type",
            with(&|e| e["event_type"] = json!("")),
            400,
            "validation-error",
        ),
        json_post(
            "event_type of 101 characters",
            with(&|e| e["event_type"] = json!("x".repeat(101))),
            400,
            "validation-error",
        ),
        json_post(
            "version of 21 characters",
            with(&|e| e["version"] = json!("1".repeat(21))),
            400,
            "validation-error",
        ),
        json_post(
            "correlation_id of 256 characters",
            with(&|e| e["correlation_id"] = json!("c".repeat(256))),
            400,
            "validation-error",
        ),
        json_post(
            "NUL character in correlation_id",
            with(&|e| e["correlation_id"] = json!("a\u{0}b")),
            400,
            "validation-error",
        ),
        json_post(
            "unknown event_category",
            with(&|e| e["event_category"] = json!("billing")),
            400,
            "validation-error",
        ),
        json_post(
            "unknown event_outcome",
            with(&|e| e["event_outcome"] = json!("maybe")),
            400,
            "validation-error",
        ),
        json_post(
            "event_timestamp not a timestamp",
            with(&|e| e["event_timestamp"] = json!("yesterday")),
            400,
            "validation-error",
        ),
        json_post(
            "event_timestamp without offset",
            with(&|e| e["event_timestamp"] = json!("2026-11-26T10:00:00")),
            400,
            "validation-error",
        ),
        json_post(
            "event_timestamp 30 days old",
            with(&|e| e["event_timestamp"] = json!((Utc::now() - Duration::days(30)).to_rfc3339())),
            400,
            "validation-error",
        ),
        json_post(
            "event_timestamp 2 hours ahead",
            with(&|e| e["event_timestamp"] = json!((Utc::now() + Duration::hours(2)).to_rfc3339())),
            400,
            "validation-error",
        ),
        json_post(
            "event_data missing",
            with(&|e| {
                e.as_object_mut().unwrap().remove("event_data");
            }),
            400,
            "validation-error",
        ),
        json_post(
            "event_data a string",
            with(&|e| e["event_data"] = json!("text")),
            400,
            "validation-error",
        ),
        json_post(
            "event_data null",
            with(&|e| e["event_data"] = Value::Null),
            400,
            "validation-error",
        ),
        json_post(
            "event_data 11 levels deep",
            with(&|e| e["event_data"] = deep.clone()),
            400,
            "validation-error",
        ),
        json_post(
            "event_data over 256 KiB",
            with(&|e| e["event_data"] = json!({"blob": "x".repeat(300 * 1024)})),
            400,
            "validation-error",
        ),
        json_post(
            "NUL character inside event_data",
            with(&|e| e["event_data"] = json!({"k": "\u{0}"})),
            400,
            "validation-error",
        ),
        json_post(
            "negative duration_ms",
            with(&|e| e["duration_ms"] = json!(-1)),
            400,
            "validation-error",
        ),
        json_post(
            "duration_ms a string",
            with(&|e| e["duration_ms"] = json!("abc")),
            400,
            "validation-error",
        ),
        json_post(
            "duration_ms beyond i64",
            with(&|e| e["duration_ms"] = json!(u64::MAX)),
            400,
            "validation-error",
        ),
        json_post(
            "retention_days 0",
            with(&|e| e["retention_days"] = json!(0)),
            400,
            "validation-error",
        ),
        json_post(
            "event_id not a UUID",
            with(&|e| e["event_id"] = json!("not-a-uuid")),
            400,
            "validation-error",
        ),
        json_post(
            "parent_event_id not a UUID",
            with(&|e| e["parent_event_id"] = json!("42")),
            400,
            "validation-error",
        ),
        json_post(
            "parent_event_date not a date",
            with(&|e| e["parent_event_date"] = json!("26/11/2026")),
            400,
            "validation-error",
        ),
        json_post(
            "body over the 16 MiB limit",
            vec![b' '; 17 * 1024 * 1024],
            413,
            "payload-too-large",
        ),
        BadInput {
            path: BATCH.into(),
            ..json_post(
                "batch: empty array",
                b"[]".to_vec(),
                400,
                "validation-error",
            )
        },
        BadInput {
            path: BATCH.into(),
            ..json_post(
                "batch: an object, not an array",
                valid.clone(),
                400,
                "validation-error",
            )
        },
        BadInput {
            path: BATCH.into(),
            ..json_post(
                "batch: 1001 events",
                serde_json::to_vec(&vec![event_body("bad-input"); 1001]).unwrap(),
                400,
                "validation-error",
            )
        },
        BadInput {
            path: BATCH.into(),
            ..json_post(
                "batch: one event missing a field",
                serde_json::to_vec(&json!([event_body("bad-input"), {"version": "1.0"}])).unwrap(),
                400,
                "validation-error",
            )
        },
        get("query: limit=0", q("limit=0"), 400, "validation-error"),
        get("query: limit=abc", q("limit=abc"), 400, "validation-error"),
        get(
            "query: limit=1001",
            q("limit=1001"),
            400,
            "validation-error",
        ),
        get("query: offset=-1", q("offset=-1"), 400, "validation-error"),
        get(
            "query: since=yesterday",
            q("since=yesterday"),
            400,
            "validation-error",
        ),
        get(
            "query: until before since",
            q("since=2026-11-26T10:00:00Z&until=2026-11-25T10:00:00Z"),
            400,
            "validation-error",
        ),
        get(
            "query: unknown event_category",
            q("event_category=billing"),
            400,
            "validation-error",
        ),
        get(
            "query: unknown event_outcome",
            q("event_outcome=maybe"),
            400,
            "validation-error",
        ),
        get(
            "query: cursor not issued by us",
            q("cursor=garbage"),
            400,
            "validation-error",
        ),
        get(
            "query: cursor together with offset",
            q("cursor=1_0190a2b3c4d5e6f708090a0b0c0d0e0f&offset=5"),
            400,
            "validation-error",
        ),
        get(
            "query: detail_key without detail_value",
            q("detail_key=reason"),
            400,
            "validation-error",
        ),
        get(
            "query: include_total=maybe",
            q("include_total=maybe"),
            400,
            "validation-error",
        ),
        get(
            "query: limit given twice",
            q("limit=1&limit=2"),
            400,
            "validation-error",
        ),
        get(
            "query: correlation_id of 256 characters",
            q(&format!("correlation_id={}", "c".repeat(256))),
            400,
            "validation-error",
        ),
        get(
            "get by id: not a UUID",
            format!("{EVENTS}/not-a-uuid"),
            400,
            "validation-error",
        ),
        get(
            "get by id: unknown id",
            format!("{EVENTS}/{}", uuid::Uuid::now_v7()),
            404,
            "not-found",
        ),
        get(
            "trail: correlation_id of 256 characters",
            format!("/api/v1/audit/correlations/{}", "c".repeat(256)),
            400,
            "validation-error",
        ),
        get(
            "unknown route",
            "/api/v1/nothing-here".into(),
            404,
            "not-found",
        ),
        BadInput {
            method: "DELETE",
            ..get(
                "wrong method (DELETE on events)",
                EVENTS.into(),
                405,
                "method-not-allowed",
            )
        },
    ]
}

async fn every_bad_input_is_a_4xx_problem_and_writes_nothing(app: TestApp) {
    let cases = bad_inputs();
    let mut table = vec![
        "| # | bad input | request | status | problem type |".to_owned(),
        "|---|---|---|---|---|".to_owned(),
    ];
    let mut failures = Vec::new();
    // A fresh connection per case: after refusing an oversized body the server closes the
    // connection without reading the rest, and a pooled connection could race that close.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for (i, case) in cases.iter().enumerate() {
        let send = || {
            let mut request = client
                .request(case.method.parse().unwrap(), app.url(&case.path))
                .body(case.body.clone());
            if let Some(ct) = case.content_type {
                request = request.header("content-type", ct);
            }
            request.send()
        };
        // The oversized body is refused from its Content-Length while the client is still
        // writing it, and the close can reach the client's write before it reads the answer
        // (a broken pipe: once in seven CI runs). Sending it again is safe (nothing was
        // written); the answer it then reads is checked below like any other.
        let mut response = send().await;
        for _ in 0..4 {
            match &response {
                Err(e) if case.status == 413 && e.is_request() => response = send().await,
                _ => break,
            }
        }
        let response = response.expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let problem: Value = response.json().await.unwrap_or(Value::Null);
        let slug = problem["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("https://kubernaut.io/problems/"))
            .unwrap_or("(not a problem)")
            .to_owned();
        let path_only = case.path.split('?').next().unwrap();
        let well_formed = content_type == "application/problem+json"
            && problem["status"] == status
            && problem["title"].is_string()
            && problem["instance"] == path_only;
        if status != case.status || slug != case.slug || !well_formed || status >= 500 {
            failures.push(format!(
                "{}: expected {} {}, got {status} {slug} ({content_type}) {problem}",
                case.what, case.status, case.slug
            ));
        }
        let shown_path = if case.path.len() > 60 {
            format!("{}…", &case.path[..60])
        } else {
            case.path.clone()
        };
        table.push(format!(
            "| {} | {} | {} {} | {status} | `{slug}` |",
            i + 1,
            case.what,
            case.method,
            shown_path
        ));
    }
    println!("{}", table.join("\n"));
    assert!(cases.len() >= 25);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        trail_total(&app, "bad-input").await,
        0,
        "a rejected request wrote something"
    );
}

#[tokio::test]
async fn a_smaller_batch_limit_is_enforced() {
    let app = spawn_app_with(Storage::Memory, |s| s.audit.max_batch = 2).await;
    let three = json!([
        event_body("small"),
        event_body("small"),
        event_body("small")
    ]);
    let response = app.post_json(BATCH, &three).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem = json_of(response).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("between 1 and 2"),
        "{problem}"
    );
    let two = json!([event_body("small"), event_body("small")]);
    assert_eq!(
        app.post_json(BATCH, &two).await.status(),
        StatusCode::CREATED
    );
    let ids: HashSet<String> = json_of(app.get(&format!("{EVENTS}?correlation_id=small")).await)
        .await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
}
