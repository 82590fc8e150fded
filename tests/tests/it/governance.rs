//! Governance on real PostgreSQL: legal holds through the API with token identities, and
//! retention under a manual clock, checked against the log.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use datastorage_application::governance::GovernanceService;
use datastorage_application::log::{AuditLogService, LogSequencer, LogSettings};
use datastorage_application::ports::{AuditEventRepository, AuditLogStore};
use datastorage_application::{AuditService, AuditSettings, ManualClock};
use datastorage_domain::audit::{CorrelationId, EventId, NewAuditEvent};
use datastorage_domain::log::note::NoteSigner;
use datastorage_domain::log::tiles::needs;
use datastorage_domain::sha256_hex;
use datastorage_tests::support::*;
use serde_json::{Value, json};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legal_holds_through_the_api_are_recorded_with_the_token_identity() {
    let tokens = std::env::temp_dir().join(format!("tokens-{}.json", uuid::Uuid::now_v7()));
    let entry = |id: &str, roles: &[&str]| json!({"identity": id, "sha256": sha256_hex(&format!("token-of-{id}")), "roles": roles});
    std::fs::write(
        &tokens,
        json!({"tokens": [
            entry("compliance", &["audit-admin", "audit-reader"]),
            entry("gateway", &["audit-writer", "audit-reader"]),
        ]})
        .to_string(),
    )
    .unwrap();
    let app = spawn_app_with(Storage::Postgres, |s| s.auth.tokens_file = Some(tokens)).await;
    let call = |method: reqwest::Method, path: &str, who: &str, body: Option<Value>| {
        let mut r = app
            .client
            .request(method, app.url(path))
            .bearer_auth(format!("token-of-{who}"));
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    use reqwest::Method;
    let hold = json!({"correlation_id": "case-7", "reason": "litigation hold 2026-17"});
    let r = call(
        Method::POST,
        "/api/v1/audit/legal-hold",
        "compliance",
        Some(hold.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404, "no event has this correlation yet");
    for _ in 0..3 {
        let r = call(
            Method::POST,
            "/api/v1/audit/events",
            "gateway",
            Some(event_body("case-7")),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = call(
        Method::POST,
        "/api/v1/audit/legal-hold",
        "gateway",
        Some(hold.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403, "placing a hold needs audit-admin");
    let r = call(
        Method::POST,
        "/api/v1/audit/legal-hold",
        "compliance",
        Some(hold.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let placed: Value = r.json().await.unwrap();
    assert_eq!(placed["events_affected"], 3);
    assert_eq!(placed["placed_by"], "compliance");
    assert_eq!(placed["reason"], "litigation hold 2026-17");
    let r = call(
        Method::POST,
        "/api/v1/audit/legal-hold",
        "compliance",
        Some(hold),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 409, "a second hold is refused");
    let list: Value = call(Method::GET, "/api/v1/audit/legal-hold", "gateway", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["holds"][0]["correlation_id"], "case-7");

    let release = json!({"release_reason": "case closed"});
    let r = call(
        Method::DELETE,
        "/api/v1/audit/legal-hold/case-8",
        "compliance",
        Some(release.clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404, "not held");
    let r = call(
        Method::DELETE,
        "/api/v1/audit/legal-hold/case-7",
        "compliance",
        Some(release),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let released: Value = r.json().await.unwrap();
    assert_eq!(released["released_by"], "compliance");
    assert_eq!(
        released["events_released"], 4,
        "the three events and the hold's own record"
    );

    // Both actions are in the correlation's trail, with the token's identity.
    let trail: Value = call(
        Method::GET,
        "/api/v1/audit/events?correlation_id=case-7&limit=100",
        "gateway",
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let actions: Vec<(String, String)> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["event_type"]
                .as_str()
                .unwrap()
                .starts_with("datastorage.audit.legal_hold")
        })
        .map(|e| {
            (
                e["event_type"].as_str().unwrap().to_owned(),
                e["actor_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            (
                "datastorage.audit.legal_hold.released".to_owned(),
                "compliance".to_owned()
            ),
            (
                "datastorage.audit.legal_hold.placed".to_owned(),
                "compliance".to_owned()
            ),
        ]
    );
}

struct Governed {
    clock: Arc<ManualClock>,
    events: Arc<dyn AuditEventRepository>,
    store: Arc<dyn AuditLogStore>,
    log: AuditLogService,
    governance: GovernanceService,
}

async fn governed_postgres(now: &str) -> Governed {
    let pool = fresh_pool().await;
    let clock = Arc::new(ManualClock::new(at(now)));
    let events: Arc<dyn AuditEventRepository> = Arc::new(
        datastorage_postgres::PgAuditEventRepository::new(pool.clone()),
    );
    let store: Arc<dyn AuditLogStore> =
        Arc::new(datastorage_postgres::PgAuditLog::new(pool.clone()));
    let stores = datastorage_postgres::PgGovernance::new(pool);
    let audit = AuditService::new(
        events.clone(),
        None,
        clock.clone(),
        AuditSettings::default(),
    );
    let log = AuditLogService::new(
        store.clone(),
        events.clone(),
        NoteSigner::new("retention.test/log", [7; 32]).unwrap(),
        clock.clone(),
        LogSettings::default(),
    );
    let governance = GovernanceService::new(
        Arc::new(stores.clone()),
        Arc::new(stores),
        audit,
        clock.clone(),
        chrono::Duration::days(8),
    );
    Governed {
        clock,
        events,
        store,
        log,
        governance,
    }
}

async fn sync(log: &AuditLogService) -> u64 {
    loop {
        let step = LogSequencer::new(log).step().await.unwrap();
        if step.appended == 0 {
            return step.size;
        }
    }
}

fn dated(when: &str, correlation: &str, retention_days: i64) -> NewAuditEvent {
    let f = EventFactory::at(at(when));
    let mut d = f.draft(correlation);
    d.retention_days = Some(retention_days);
    f.build(d)
}

fn ids(v: &[EventId]) -> Vec<EventId> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_a_month_only_when_all_expired_and_none_held_and_the_log_stays_provable() {
    let g = governed_postgres("2026-06-15T12:00:00Z").await;
    let a = dated("2026-01-10T00:00:00Z", "ret-a", 30);
    let b = dated("2026-01-20T00:00:00Z", "ret-a", 200);
    let c = dated("2026-02-05T00:00:00Z", "ret-held", 30);
    let d = dated("2026-02-06T00:00:00Z", "ret-b", 30);
    g.events
        .insert_batch(&[a.clone(), b.clone(), c.clone(), d.clone()])
        .await
        .unwrap();
    g.governance
        .place_hold("ret-held".into(), "litigation".into(), "compliance")
        .await
        .unwrap();
    let size = sync(&g.log).await;
    let root = g.log.checkpoint().await.unwrap().root;

    // June: January has an event kept 200 days; February has a held event.
    let report = g.governance.run_retention().await.unwrap();
    assert!(report.pruned.is_empty());
    assert_eq!(report.kept_unexpired.len(), 1);
    assert_eq!(report.kept_held.len(), 1);

    // September: January is all expired and goes; February stays held.
    g.clock.advance(Duration::from_secs(78 * 86_400));
    let report = g.governance.run_retention().await.unwrap();
    assert_eq!(report.pruned.len(), 1);
    assert_eq!(report.pruned[0].events, 2);
    // February, and June, which holds the hold's own record (in the held correlation).
    let feb = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
    let june = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    assert_eq!(report.kept_held, vec![feb, june]);
    assert_eq!(g.events.get(a.event.event_id).await.unwrap(), None);
    assert!(g.events.get(c.event.event_id).await.unwrap().is_some());

    // The log outlives the rows: the old tree is still there, whole.
    sync(&g.log).await;
    let tiles = g.store.tiles(&needs::root(size)).await.unwrap();
    assert_eq!(tiles.root(size).unwrap(), root);
    let verdict = g
        .log
        .verify_chain(CorrelationId::parse("ret-a".to_owned()).unwrap())
        .await
        .unwrap();
    assert!(verdict.is_valid, "{verdict:?}");
    assert_eq!(
        ids(&verdict.pruned_events),
        ids(&[a.event.event_id, b.event.event_id])
    );
    assert!(verdict.missing_events.is_empty());

    // Released, February goes at the next run.
    g.governance
        .release_hold("ret-held".into(), "settled".into(), "compliance")
        .await
        .unwrap();
    let report = g.governance.run_retention().await.unwrap();
    assert_eq!(report.pruned.len(), 1);
    assert_eq!(report.pruned[0].events, 2);
    sync(&g.log).await;
    let verdict = g
        .log
        .verify_chain(CorrelationId::parse("ret-held".to_owned()).unwrap())
        .await
        .unwrap();
    assert!(verdict.is_valid, "{verdict:?}");
    assert_eq!(verdict.pruned_events, vec![c.event.event_id]);
    assert_eq!(
        verdict.verified_events, 2,
        "the hold's placed and released records"
    );

    // Each drop is an audit event naming the month, the count and the log indexes.
    let trail = g
        .events
        .correlation(
            &CorrelationId::parse("datastorage-retention".to_owned()).unwrap(),
            10,
        )
        .await
        .unwrap();
    let months: Vec<Value> = trail
        .iter()
        .map(|e| serde_json::from_str::<Value>(e.event_data.as_json()).unwrap())
        .collect();
    assert_eq!(months.len(), 2);
    assert_eq!(months[0]["month"], "2026-01");
    assert_eq!(months[0]["events"], 2);
    assert_eq!(months[1]["month"], "2026-02");
    assert!(
        months[0]["log_ranges"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
}
