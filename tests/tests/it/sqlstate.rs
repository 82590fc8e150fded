//! DESIGN.md §3.7's SQLSTATE table against the real PostgreSQL: every code the table names,
//! raised by the server itself (`RAISE ... USING ERRCODE`), and the errors real statements
//! cause (a division by zero, a missing table, a statement cancelled by `statement_timeout`,
//! a backend terminated), each sorted into its class; then the transient class end to end (a
//! write whose statement is cancelled is retried, queued, and stored once). The fault class end
//! to end (a revoked grant: 500, nothing queued) is in `migrate`, which has the serving role.

use std::time::Duration;

use datastorage_postgres::{Failure, classify_failure};
use datastorage_tests::support::*;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

async fn failure_of(conn: &mut PgConnection, sql: &str) -> (String, Failure) {
    match sqlx::raw_sql(sql).execute(&mut *conn).await {
        Ok(_) => panic!("{sql} succeeded"),
        Err(e) => {
            let code = match &e {
                sqlx::Error::Database(db) => db.code().unwrap_or_default().into_owned(),
                other => format!("{other}"),
            };
            (code, classify_failure(&e))
        }
    }
}

fn raise(code: &str) -> String {
    format!("DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '{code}'; END $$")
}

#[tokio::test]
async fn the_server_s_own_errors_fall_into_the_table_s_classes() {
    let url = fresh_database_url().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let transient = [
        "08000", "08006", "40001", "40P01", "53100", "53200", "53300", "55P03", "57P01", "57P02",
        "57P03", "57014", "58000", "58030",
    ];
    for code in transient {
        assert_eq!(
            failure_of(&mut conn, &raise(code)).await,
            (code.to_owned(), Failure::Transient)
        );
    }
    for code in ["22001", "22P02", "23502", "23503", "23505", "23514"] {
        assert_eq!(
            failure_of(&mut conn, &raise(code)).await,
            (code.to_owned(), Failure::Data)
        );
    }
    for code in [
        "0A000", "42501", "42P01", "2BP01", "3D000", "3F000", "XX000",
    ] {
        assert_eq!(
            failure_of(&mut conn, &raise(code)).await,
            (code.to_owned(), Failure::Fault)
        );
    }

    // What real statements cause.
    assert_eq!(
        failure_of(&mut conn, "SELECT 1 / 0").await,
        ("22012".to_owned(), Failure::Data)
    );
    assert_eq!(
        failure_of(&mut conn, "SELECT * FROM no_such_table").await,
        ("42P01".to_owned(), Failure::Fault)
    );
    assert_eq!(
        failure_of(&mut conn, "SET statement_timeout = 50; SELECT pg_sleep(5)").await,
        ("57014".to_owned(), Failure::Transient)
    );
    sqlx::raw_sql("RESET statement_timeout")
        .execute(&mut conn)
        .await
        .unwrap();
    // The server ends this very session, as it does when it shuts down.
    let (code, failure) =
        failure_of(&mut conn, "SELECT pg_terminate_backend(pg_backend_pid())").await;
    assert_eq!((code.as_str(), failure), ("57P01", Failure::Transient));
    // The session is gone: what the next statement meets is an unanswered call.
    let (_, failure) = failure_of(&mut conn, "SELECT 1").await;
    assert_eq!(failure, Failure::Unanswered);
}

/// 57014 end to end: another session holds the id table, so a write waits on its lock until
/// the server cancels the statement (statement_timeout 200 ms). That is transient: retried
/// within the write's deadline, then queued (202); once the lock goes, the replay stores the
/// event once, and a client's retry with its id is a harmless repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_cancelled_by_its_timeout_is_transient_so_the_write_is_queued_then_stored_once()
{
    let url = fresh_database_url().await;
    let redis = test_redis_url();
    let app = spawn_app_with(Storage::Memory, |s| {
        s.database.url = Some(url.clone().into());
        s.database.statement_timeout_ms = 200;
        with_redis_queue(s, redis);
    })
    .await;
    let mut holder = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE audit_event_ids IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();

    let mut body = event_body("statement-timeout");
    body["event_id"] = json!(uuid::Uuid::now_v7().to_string());
    let answer = app.post_json("/api/v1/audit/events", &body).await;
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    eventually("the queue drains", Duration::from_secs(30), || async {
        let dlq: Value = app.get("/api/v1/dlq").await.json().await.unwrap();
        dlq["depth"] == 0 && dlq["pending"] == 0
    })
    .await;
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE correlation_id = 'statement-timeout'",
    )
    .fetch_one(&mut holder)
    .await
    .unwrap();
    assert_eq!(stored, 1);
    let again = app.post_json("/api/v1/audit/events", &body).await;
    assert_eq!(again.status(), 200, "the same event again is a repeat");
}
