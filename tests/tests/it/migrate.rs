//! Migrations as a deployment step: `datastorage migrate` (the real binary) as the schema's
//! owner, the serving role with exactly the grants deploy/kubernetes/base/grants.sql ships, and
//! the service running as that role with DS_DATABASE__MIGRATE_AT_START=false through every
//! path that touches the database; and the refusal to start on a schema that is not current.

use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{Datelike, Utc};
use datastorage_application::governance::GovernanceService;
use datastorage_application::{AuditService, AuditSettings, ManualClock};
use datastorage_tests::support::*;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

/// The role grants.sql grants to (shared by every test database: roles are per cluster,
/// grants per database).
const SERVING_ROLE: &str = "datastorage_app";

fn grants_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes/base/grants.sql")
}

/// The test cluster's URL for `role` on `database` (trust authentication).
fn url_for(role: &str, database: &str) -> String {
    let admin = test_database_url();
    let (scheme, rest) = admin.split_once("://").unwrap();
    let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host_and_db.split_once('/').unwrap().0;
    format!("{scheme}://{role}@{host}/{database}")
}

async fn admin_on(database: &str) -> PgConnection {
    PgConnection::connect(&url_for("postgres", database))
        .await
        .unwrap()
}

/// A new database owned by a new migration role (no superuser), with pgvector created by the
/// superuser as an operator must (it is not a trusted extension), and the serving role.
/// Returns (database, migration role).
async fn owned_database() -> (String, String) {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let (database, migrator) = (format!("ds_test_{id}"), format!("ds_migrator_{id}"));
    let mut admin = admin_on("postgres").await;
    // One statement each: CREATE DATABASE refuses to run inside a (multi-statement) block.
    for sql in [
        format!("CREATE ROLE {migrator} LOGIN"),
        format!("CREATE DATABASE {database} OWNER {migrator}"),
    ] {
        sqlx::raw_sql(&sql).execute(&mut admin).await.unwrap();
    }
    // Tests of this module may create it at once: either outcome is the role existing.
    sqlx::raw_sql(&format!(
        "DO $$ BEGIN CREATE ROLE {SERVING_ROLE} LOGIN;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("CREATE EXTENSION vector")
        .execute(&mut admin_on(&database).await)
        .await
        .unwrap();
    (database, migrator)
}

fn datastorage(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(datastorage_binary())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let (got, url) = (r.status(), r.url().clone());
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{url}: {body}");
    body
}

/// The SQLSTATE of a statement the serving role runs.
async fn refused(conn: &mut PgConnection, sql: &str) -> String {
    match sqlx::raw_sql(sql).execute(&mut *conn).await {
        Ok(_) => panic!("the serving role ran {sql}"),
        Err(sqlx::Error::Database(db)) => db.code().unwrap_or_default().into_owned(),
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_as_a_role_without_ddl_on_a_schema_that_migrate_applied() {
    let (database, migrator) = owned_database().await;
    let migrator_url = url_for(&migrator, &database);
    let grants = grants_file();
    let grants = grants.to_str().unwrap();

    // Every embedded migration is applied and named, then the documented grants run.
    let out = datastorage(
        &["migrate", "--grants", grants],
        &[("DATABASE_URL", &migrator_url)],
    );
    assert!(out.status.success(), "{}", text(&out));
    let expected: Vec<String> = datastorage_postgres::MIGRATOR
        .iter()
        .map(|m| format!("applied migration {} {}", m.version, m.description))
        .collect();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let applied: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("applied"))
        .collect();
    assert_eq!(applied, expected);
    assert!(stdout.contains("grants.sql"), "{stdout}");

    // Idempotent: nothing to apply, and the grants run again without error.
    let out = datastorage(
        &["migrate", "--grants", grants],
        &[("DATABASE_URL", &migrator_url)],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("schema is current"), "{stdout}");
    assert!(!stdout.contains("applied migration"), "{stdout}");

    // The serving role may not change the schema, the log's trigger or the history.
    let serving_url = url_for(SERVING_ROLE, &database);
    let mut serving = PgConnection::connect(&serving_url).await.unwrap();
    assert_eq!(
        refused(&mut serving, "CREATE TABLE t (i int)").await,
        "42501"
    );
    assert_eq!(
        refused(
            &mut serving,
            "ALTER TABLE audit_events DISABLE TRIGGER audit_log_enqueue"
        )
        .await,
        "42501"
    );
    assert_eq!(
        refused(&mut serving, "DELETE FROM _sqlx_migrations").await,
        "42501"
    );

    let app = spawn_app_with(Storage::Memory, |s| {
        s.database.url = Some(serving_url.clone().into());
        s.database.migrate_at_start = false;
        with_local_embedder(s);
    })
    .await;

    // The write path (single and batch, through group commit and COPY) and the reads.
    let created = json_of(
        app.post_json("/api/v1/audit/events", &event_body("grants-case"))
            .await,
        201,
    )
    .await;
    let batch = json!([event_body("grants-case"), event_body("grants-case")]);
    json_of(
        app.post_json("/api/v1/audit/events/batch", &batch).await,
        201,
    )
    .await;
    let page = json_of(
        app.get("/api/v1/audit/events?correlation_id=grants-case")
            .await,
        200,
    )
    .await;
    assert_eq!(page["pagination"]["total"], 3, "{page}");
    let id = created["event_id"].as_str().unwrap();
    json_of(app.get(&format!("/api/v1/audit/events/{id}")).await, 200).await;

    // The transparency log: sequencing, tiles, checkpoints, proofs.
    assert!(app.sync_log().await >= 3);
    let verdict = json_of(
        app.post_json(
            "/api/v1/audit/verify-chain",
            &json!({"correlation_id": "grants-case"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(verdict["is_valid"], true, "{verdict}");
    let export = app
        .get("/api/v1/audit/export?correlation_id=grants-case")
        .await;
    assert_eq!(export.status(), 200);
    assert_eq!(export.text().await.unwrap().lines().count(), 3 + 2);

    // Legal holds: placed, listed, released.
    let hold = json!({"correlation_id": "grants-case", "reason": "grants test"});
    let placed = json_of(app.post_json("/api/v1/audit/legal-hold", &hold).await, 201).await;
    assert_eq!(placed["events_affected"], 3, "{placed}");
    let released = app
        .client
        .delete(app.url("/api/v1/audit/legal-hold/grants-case"))
        .json(&json!({"release_reason": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200);

    // The catalog: a registration with its embedding, a new version moving the latest flag,
    // a hybrid search reading the vectors.
    let mut workflow = json!({
        "workflow_name": "grants-oom", "version": "1.0.0", "name": "Increase memory",
        "description": "Raises the memory limit and restarts the pod",
        "content": "kind: Workflow", "execution_engine": "argo-workflows",
        "labels": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                   "environment": "production", "priority": "P0"},
    });
    json_of(app.post_json("/api/v1/workflows", &workflow).await, 201).await;
    workflow["version"] = json!("1.1.0");
    json_of(app.post_json("/api/v1/workflows", &workflow).await, 201).await;
    let search = json!({
        "query": "pod out of memory",
        "filters": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                    "environment": "production", "priority": "P0"},
    });
    let found = json_of(
        app.post_json("/api/v1/workflows/search", &search).await,
        200,
    )
    .await;
    app.settle().await;
    assert_eq!(found["workflows"][0]["version"], "1.1.0", "{found}");

    // Retention as the serving role: a write to a month with no partition creates it (through
    // the owner's function), and the drop of an expired month goes through the other one.
    let now = Utc::now();
    let old = now - chrono::Duration::days(150);
    let pool = datastorage_postgres::connect(&datastorage_postgres::PgSettings {
        url: serving_url.clone(),
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(30),
        tls: Default::default(),
        statement_timeout: std::time::Duration::from_secs(30),
        idle_in_transaction_timeout: std::time::Duration::from_secs(60),
    })
    .await
    .unwrap();
    let events = Arc::new(datastorage_postgres::PgAuditEventRepository::new(
        pool.clone(),
    ));
    let factory = EventFactory::at(old);
    let mut draft = factory.draft("grants-old");
    draft.retention_days = Some(1);
    use datastorage_application::ports::AuditEventRepository;
    events.insert(&factory.build(draft)).await.unwrap();
    let partition = format!("audit_events_{}_{:02}", old.year(), old.month());
    let stores = datastorage_postgres::PgGovernance::new(pool.clone());
    let clock = Arc::new(ManualClock::new(now));
    let governance = GovernanceService::new(
        Arc::new(stores.clone()),
        Arc::new(stores),
        AuditService::new(events, None, clock.clone(), AuditSettings::default()),
        clock,
        chrono::Duration::days(8),
    );
    let report = governance.run_retention().await.unwrap();
    let month = old.date_naive().with_day(1).unwrap();
    assert_eq!(
        report.pruned.iter().map(|p| p.month).collect::<Vec<_>>(),
        vec![month]
    );
    let gone: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NULL")
        .bind(&partition)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(gone, "{partition} was dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_migrate_at_start_an_unmigrated_database_stops_the_service_naming_migrate() {
    let url = fresh_database_url().await;
    // The flag, not its variable: a binary that does not know the setting fails to parse
    // it instead of migrating and serving.
    let out = datastorage(
        &["--database-migrate-at-start", "false", "serve"],
        &[
            ("DATABASE_URL", &url),
            ("DS_HTTP__ADDR", "127.0.0.1:0"),
            ("DS_EMBEDDER__KIND", "none"),
        ],
    );
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("run `datastorage migrate`"), "{all}");
    // It names what is missing, and ran no DDL: the database is still empty.
    assert!(all.contains("migration 20261126000000 extensions"), "{all}");
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(tables, 0);

    // Migrated, the same command would start: `migrate` is what it lacked.
    let out = datastorage(&["migrate"], &[("DATABASE_URL", &url)]);
    assert!(out.status.success(), "{}", text(&out));
    let pool = datastorage_postgres::connect(&datastorage_postgres::PgSettings {
        url,
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(30),
        tls: Default::default(),
        statement_timeout: std::time::Duration::from_secs(30),
        idle_in_transaction_timeout: std::time::Duration::from_secs(60),
    })
    .await
    .unwrap();
    datastorage_postgres::check_schema_current(&pool)
        .await
        .unwrap();
}

/// On plain PostgreSQL the Citus step changes nothing: the log keeps its trigger queue, no
/// per-event mark appears, and the pool keeps forcing generic plans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_plain_postgresql_the_citus_step_does_nothing() {
    let pool = fresh_pool().await;
    let mut conn = pool.acquire().await.unwrap();
    assert!(
        !datastorage_postgres::distribute_on_citus(&mut conn)
            .await
            .unwrap()
    );
    let (marked, trigger): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute
                        WHERE attrelid = 'audit_events'::regclass AND attname = 'log_pending'),
                EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_enqueue')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!((marked, trigger), (false, true));
    assert!(
        datastorage_postgres::log_queueing_enabled(&mut conn)
            .await
            .unwrap()
    );
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(mode, "force_generic_plan");
}

/// Events stored before event ids became unique within their correlation keep their
/// idempotency: the migration fills `audit_event_ids` from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stored_before_the_id_table_keep_their_idempotency() {
    const ID_TABLE: i64 = 20261208000100;
    let url = fresh_database_url().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            datastorage_postgres::MIGRATOR
                .iter()
                .filter(|m| m.version < ID_TABLE)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&mut conn).await.unwrap();
    let f = EventFactory::default();
    let old = f.with_id(uuid::Uuid::now_v7(), "c-before-ids");
    let e = &old.event;
    sqlx::query("SELECT audit_events_ensure_partition($1)")
        .bind(e.event_date())
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO audit_events (event_id, event_date, event_timestamp, version, event_type,
             event_category, event_action, event_outcome, correlation_id, event_data,
             content_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11)",
    )
    .bind(e.event_id.as_uuid())
    .bind(e.event_date())
    .bind(e.event_timestamp.as_datetime())
    .bind(e.version.as_str())
    .bind(e.event_type.as_str())
    .bind(e.event_category.as_str())
    .bind(e.event_action.as_str())
    .bind(e.event_outcome.as_str())
    .bind(e.correlation_id.as_str())
    .bind(e.event_data.as_json())
    .bind(e.content_hash().to_vec())
    .execute(&mut conn)
    .await
    .unwrap();
    datastorage_postgres::MIGRATOR.run(&mut conn).await.unwrap();

    let repo = datastorage_postgres::PgAuditEventRepository::new(
        sqlx::PgPool::connect(&url).await.unwrap(),
    );
    use datastorage_application::ports::{AuditEventRepository, InsertOutcome, RepositoryError};
    assert_eq!(
        repo.insert(&old).await.unwrap(),
        InsertOutcome::AlreadyExists
    );
    let mut other = f.draft("c-before-ids");
    other.event_id = Some(e.event_id.to_string());
    other.event_action = "changed".into();
    assert!(matches!(
        repo.insert(&f.build(other)).await,
        Err(RepositoryError::Conflict { .. })
    ));
    let elsewhere = f.with_id(*e.event_id.as_uuid(), "c-before-ids-other");
    assert_eq!(
        repo.insert(&elsewhere).await.unwrap(),
        InsertOutcome::Created
    );
}

/// DESIGN.md §3.7: a statement refused for a reason of the deployment (here a revoked
/// INSERT grant, SQLSTATE 42501) is neither the client's fault nor an outage: a 500 with the
/// cause in the log, never retried, never queued behind a 202, never a 503 telling the client
/// to retry. Nothing of the write is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_insert_grant_is_a_500_and_nothing_is_written_or_queued() {
    let (database, migrator) = owned_database().await;
    let grants = grants_file();
    let out = datastorage(
        &["migrate", "--grants", grants.to_str().unwrap()],
        &[("DATABASE_URL", &url_for(&migrator, &database))],
    );
    assert!(out.status.success(), "{}", text(&out));
    let mut owner = PgConnection::connect(&url_for(&migrator, &database))
        .await
        .unwrap();
    sqlx::raw_sql(&format!(
        "REVOKE INSERT ON audit_events FROM {SERVING_ROLE}"
    ))
    .execute(&mut owner)
    .await
    .unwrap();

    let serving_url = url_for(SERVING_ROLE, &database);
    let redis = test_redis_url();
    let app = spawn_app_with(Storage::Memory, |s| {
        s.database.url = Some(serving_url.clone().into());
        s.database.migrate_at_start = false;
        with_redis_queue(s, redis);
    })
    .await;

    for (path, body) in [
        ("/api/v1/audit/events", event_body("revoked-grant")),
        (
            "/api/v1/audit/events/batch",
            json!([event_body("revoked-grant"), event_body("revoked-grant")]),
        ),
    ] {
        let problem = json_of(app.post_json(path, &body).await, 500).await;
        assert_eq!(
            problem["type"], "https://kubernaut.io/problems/internal-error",
            "{problem}"
        );
    }
    let dlq: Value = app.get("/api/v1/dlq").await.json().await.unwrap();
    assert_eq!(dlq["depth"], 0, "nothing queued: {dlq}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_event_ids")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(stored, 0, "the id rows rolled back with the refused COPY");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}
