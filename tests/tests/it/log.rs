//! The transparency log through the API: proofs that verify from the RFCs, and tamper tests
//! that change PostgreSQL behind the service's back and assert the verdict.

use std::path::PathBuf;
use std::process::Command;

use datastorage_domain::log::checkpoint::open_checkpoint;
use datastorage_domain::log::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use datastorage_domain::log::note::NoteVerifier;
use datastorage_domain::log::{Hash, jcs};
use datastorage_tests::support::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const EVENTS: &str = "/api/v1/audit/events";

async fn write(app: &TestApp, correlation: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut body = event_body(correlation);
        body["event_data"] = json!({"step": i, "ratio": 0.1 * i as f64, "note": "é\u{1}"});
        let r = app.post_json(EVENTS, &body).await;
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        ids.push(v["event_id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn verify(app: &TestApp, correlation: &str) -> Value {
    let r = app
        .post_json(
            "/api/v1/audit/verify-chain",
            &json!({"correlation_id": correlation}),
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn pool(app: &TestApp) -> PgPool {
    PgPool::connect(app.database_url.as_deref().unwrap())
        .await
        .unwrap()
}

async fn text(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

fn ids_of(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The base64 hashes of a proof's path.
fn hashes(path: &Value) -> Vec<Hash> {
    path.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn proves_every_event_from_the_standards_alone(storage: Storage) {
    let app = spawn_app(storage).await;
    write(&app, "proofs-a", 5).await;
    let note = {
        app.sync_log().await;
        text(&app, "/api/v1/audit/log/checkpoint").await
    };
    let vkey = text(&app, "/api/v1/audit/log/vkey").await;
    let verifier = NoteVerifier::from_vkey(vkey.trim()).unwrap();
    let first = open_checkpoint(&note, &verifier, None).unwrap();
    assert_eq!(first.size, 5);
    assert!(first.timestamp().is_some());

    write(&app, "proofs-b", 4).await;
    assert_eq!(app.sync_log().await, 9);
    let second = open_checkpoint(
        &text(&app, "/api/v1/audit/log/checkpoint").await,
        &verifier,
        None,
    )
    .unwrap();
    assert_eq!(second.size, 9);

    let page = json_of(&app, &format!("{EVENTS}?limit=100")).await;
    let mut seen = Vec::new();
    for event in page["data"].as_array().unwrap() {
        let mut event = event.as_object().unwrap().clone();
        let index = event.remove("log_index").unwrap().as_u64().unwrap();
        seen.push(index);
        // The leaf is recomputed from the event as read, without our code's help.
        let leaf = leaf_hash(&jcs::canonicalize(&Value::Object(event.clone())));
        let id = event["event_id"].as_str().unwrap();
        let proof = json_of(
            &app,
            &format!("/api/v1/audit/log/proof/inclusion?event_id={id}"),
        )
        .await;
        assert_eq!(proof["log_index"], index);
        assert_eq!(proof["tree_size"], 9);
        assert_eq!(proof["leaf_hash"], leaf.to_base64());
        let path = hashes(&proof["audit_path"]);
        verify_inclusion(index, 9, &leaf, &path, &second.root).unwrap();
        // And against the older checkpoint, for the events it covers.
        if index >= 5 {
            let r = app
                .get(&format!(
                    "/api/v1/audit/log/proof/inclusion?event_id={id}&tree_size=5"
                ))
                .await;
            assert_eq!(
                r.status(),
                404,
                "log_index {index} is outside the tree of size 5"
            );
        } else {
            let old = json_of(
                &app,
                &format!("/api/v1/audit/log/proof/inclusion?event_id={id}&tree_size=5"),
            )
            .await;
            let path = hashes(&old["audit_path"]);
            verify_inclusion(index, 5, &leaf, &path, &first.root).unwrap();
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..9).collect::<Vec<u64>>());

    let proof = json_of(&app, "/api/v1/audit/log/proof/consistency?first=5&second=9").await;
    let path = hashes(&proof["consistency_path"]);
    verify_consistency(5, 9, &first.root, &second.root, &path).unwrap();

    // Sizes beyond the signed checkpoint, or not covering the event, are refused clearly.
    for unsigned in [
        "/api/v1/audit/log/proof/consistency?first=5&second=10",
        &format!(
            "/api/v1/audit/log/proof/inclusion?event_id={}&tree_size=10",
            page["data"][0]["event_id"].as_str().unwrap()
        ),
    ] {
        let r = app.get(unsigned).await;
        assert_eq!(r.status(), 404, "{unsigned}");
        let problem: Value = r.json().await.unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("no signed tree of size 10"),
            "{problem}"
        );
    }
    for bad in [
        "/api/v1/audit/log/proof/consistency?first=0&second=9",
        "/api/v1/audit/log/proof/consistency?first=6&second=5",
        "/api/v1/audit/log/proof/consistency?first=x&second=5",
    ] {
        let r = app.get(bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{bad}"
        );
    }
    let unknown = uuid::Uuid::now_v7();
    let r = app
        .get(&format!(
            "/api/v1/audit/log/proof/inclusion?event_id={unknown}"
        ))
        .await;
    assert_eq!(r.status(), 404);
    let status = json_of(&app, "/api/v1/audit/log/status").await;
    assert_eq!(status["size"], 9);
    assert_eq!(status["unsequenced"], 0);
    assert_eq!(status["checkpoint_size"], 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_proved_from_the_standards_alone_on_memory() {
    proves_every_event_from_the_standards_alone(Storage::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_proved_from_the_standards_alone_on_postgres() {
    proves_every_event_from_the_standards_alone(Storage::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untampered_trail_written_in_one_microsecond_is_valid() {
    let app = spawn_app(Storage::Postgres).await;
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let batch: Vec<Value> = (0..6)
        .map(|i| {
            let mut e = event_body("same-instant");
            e["event_timestamp"] = json!(at);
            e["event_data"] = json!({"i": i});
            e
        })
        .collect();
    assert_eq!(
        app.post_json("/api/v1/audit/events/batch", &json!(batch))
            .await
            .status(),
        201
    );
    app.sync_log().await;
    let v = verify(&app, "same-instant").await;
    assert_eq!(v["is_valid"], true, "{v}");
    assert_eq!(v["total_events"], 6);
    assert_eq!(v["verified_events"], 6);
    assert_eq!(v["tampered_events"], json!([]));
    assert_eq!(v["missing_events"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_row_is_reported_tampered_with_both_hashes() {
    let app = spawn_app(Storage::Postgres).await;
    let ids = write(&app, "tamper-edit", 4).await;
    app.sync_log().await;
    assert_eq!(verify(&app, "tamper-edit").await["is_valid"], true);
    sqlx::query(
        "UPDATE audit_events SET event_data = event_data || '{\"step\": 99}' WHERE event_id = $1::uuid",
    )
    .bind(&ids[1])
    .execute(&pool(&app).await)
    .await
    .unwrap();
    let v = verify(&app, "tamper-edit").await;
    assert_eq!(v["is_valid"], false);
    assert_eq!(ids_of(&v["tampered_events"]), vec![ids[1].clone()]);
    let t = &v["tampered_events"][0];
    assert_ne!(t["expected_hash"], t["actual_hash"]);
    assert_eq!(v["verified_events"], 3);
    assert_eq!(v["missing_events"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_moved_to_another_correlation_is_reported_in_both() {
    let app = spawn_app(Storage::Postgres).await;
    let ids = write(&app, "tamper-from", 2).await;
    write(&app, "tamper-to", 2).await;
    app.sync_log().await;
    sqlx::query("UPDATE audit_events SET correlation_id = 'tamper-to' WHERE event_id = $1::uuid")
        .bind(&ids[0])
        .execute(&pool(&app).await)
        .await
        .unwrap();
    for correlation in ["tamper-from", "tamper-to"] {
        let v = verify(&app, correlation).await;
        assert_eq!(v["is_valid"], false, "{correlation}");
        assert_eq!(
            ids_of(&v["tampered_events"]),
            vec![ids[0].clone()],
            "{correlation}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_row_is_reported_missing() {
    let app = spawn_app(Storage::Postgres).await;
    let ids = write(&app, "tamper-delete", 4).await;
    app.sync_log().await;
    sqlx::query("DELETE FROM audit_events WHERE event_id = $1::uuid")
        .bind(&ids[2])
        .execute(&pool(&app).await)
        .await
        .unwrap();
    let v = verify(&app, "tamper-delete").await;
    assert_eq!(v["is_valid"], false);
    assert_eq!(ids_of(&v["missing_events"]), vec![ids[2].clone()]);
    assert_eq!(v["total_events"], 3);
    assert_eq!(v["verified_events"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_rows_deleted_are_reported_missing() {
    let app = spawn_app(Storage::Postgres).await;
    let ids = write(&app, "tamper-newest", 5).await;
    app.sync_log().await;
    sqlx::query(
        "DELETE FROM audit_events WHERE event_id IN (SELECT event_id FROM audit_events
         WHERE correlation_id = 'tamper-newest' ORDER BY event_timestamp DESC, event_id DESC LIMIT 2)",
    )
    .execute(&pool(&app).await)
    .await
    .unwrap();
    let v = verify(&app, "tamper-newest").await;
    assert_eq!(v["is_valid"], false);
    assert_eq!(ids_of(&v["missing_events"]), sorted(ids[3..].to_vec()));
    assert_eq!(v["verified_events"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_correlation_deleted_is_reported_missing() {
    let app = spawn_app(Storage::Postgres).await;
    let ids = write(&app, "tamper-all", 3).await;
    write(&app, "tamper-other", 2).await;
    app.sync_log().await;
    sqlx::query("DELETE FROM audit_events WHERE correlation_id = 'tamper-all'")
        .execute(&pool(&app).await)
        .await
        .unwrap();
    let v = verify(&app, "tamper-all").await;
    assert_eq!(v["is_valid"], false);
    assert_eq!(v["total_events"], 0);
    assert_eq!(ids_of(&v["missing_events"]), sorted(ids));
    assert_eq!(verify(&app, "tamper-other").await["is_valid"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewritten_log_hashes_no_longer_reproduce_the_signed_checkpoint() {
    let app = spawn_app(Storage::Postgres).await;
    let ids = write(&app, "tamper-tiles", 3).await;
    app.sync_log().await;
    let db = pool(&app).await;
    // Edit a row and rewrite its leaf in the tiles to match: the signed root catches it.
    sqlx::query("UPDATE audit_events SET event_outcome = 'failure' WHERE event_id = $1::uuid")
        .bind(&ids[0])
        .execute(&db)
        .await
        .unwrap();
    let v = verify(&app, "tamper-tiles").await;
    let forged =
        Hash::from_base64(v["tampered_events"][0]["actual_hash"].as_str().unwrap()).unwrap();
    let index = v["tampered_events"][0]["log_index"].as_i64().unwrap();
    sqlx::query(
        "UPDATE audit_log_tiles SET hashes = overlay(hashes placing $1 from $2 for 32)
         WHERE level = 0 AND idx = 0",
    )
    .bind(forged.0.as_slice())
    .bind(i32::try_from(index * 32 + 1).unwrap())
    .execute(&db)
    .await
    .unwrap();
    let v = verify(&app, "tamper-tiles").await;
    assert_eq!(v["is_valid"], false);
    assert_eq!(
        v["tampered_events"],
        json!([]),
        "the row matches the rewritten leaf"
    );
    assert!(
        v["log_problem"]
            .as_str()
            .unwrap()
            .contains("no longer reproduces its latest signed checkpoint"),
        "{v}"
    );
}

fn run_verify(app: &TestApp, vkey: &str, checkpoint: &std::path::Path) -> std::process::Output {
    Command::new(datastorage_binary())
        .args([
            "log",
            "verify",
            "--vkey",
            vkey.trim(),
            "--url",
            &app.base_url,
        ])
        .arg("--checkpoint")
        .arg(checkpoint)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_tables_restored_from_an_older_copy_fail_the_cli_naming_the_checkpoint() {
    let app = spawn_app(Storage::Postgres).await;
    let db = pool(&app).await;
    let dir = std::env::temp_dir().join(format!("ds-log-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let vkey = text(&app, "/api/v1/audit/log/vkey").await;

    write(&app, "rollback", 3).await;
    app.sync_log().await;
    let early = dir.join("early.checkpoint");
    std::fs::write(&early, text(&app, "/api/v1/audit/log/checkpoint").await).unwrap();
    const TABLES: [&str; 5] = ["pending", "leaves", "tiles", "state", "checkpoints"];
    for t in TABLES {
        sqlx::query(&format!(
            "CREATE TABLE backup_{t} AS SELECT * FROM audit_log_{t}"
        ))
        .execute(&db)
        .await
        .unwrap();
    }

    write(&app, "rollback", 3).await;
    app.sync_log().await;
    let later = dir.join("later.checkpoint");
    std::fs::write(&later, text(&app, "/api/v1/audit/log/checkpoint").await).unwrap();
    let fine = run_verify(&app, &vkey, &early);
    assert!(
        fine.status.success(),
        "an honest log verifies: {}",
        String::from_utf8_lossy(&fine.stderr)
    );

    // Roll the log's tables back, then let the log grow on from there.
    for t in TABLES {
        sqlx::raw_sql(&format!(
            "DELETE FROM audit_log_{t}; INSERT INTO audit_log_{t} SELECT * FROM backup_{t}"
        ))
        .execute(&db)
        .await
        .unwrap();
    }
    let out = run_verify(&app, &vkey, &later);
    assert!(!out.status.success(), "a rolled-back log must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(later.to_str().unwrap()) && stderr.contains("rolled back"),
        "{stderr}"
    );

    write(&app, "rollback-fork", 5).await;
    app.sync_log().await;
    let out = run_verify(&app, &vkey, &later);
    assert!(!out.status.success(), "a forked log must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(later.to_str().unwrap()) && stderr.contains("not consistent"),
        "{stderr}"
    );
    // The early checkpoint is still a prefix of the fork: that is what it can prove.
    assert!(run_verify(&app, &vkey, &early).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_database_keep_one_log_without_gaps_or_duplicates() {
    const PER_WRITER: usize = 60;
    let url = fresh_database_url().await;
    let (private, vkey) = datastorage::transparency::keygen("replicas.test/log").unwrap();
    let key_file = std::env::temp_dir().join(format!("ds-key-{}", uuid::Uuid::now_v7().simple()));
    std::fs::write(&key_file, private).unwrap();
    let replica = || {
        let (url, key_file) = (url.clone(), key_file.clone());
        spawn_app_with(Storage::Memory, move |s| {
            s.database.url = Some(url.into());
            s.audit_log.key_file = Some(key_file);
            // Both sequencers contend as often as they can.
            s.audit_log.poll_ms = 1;
            s.audit_log.batch = 7;
            s.audit_log.checkpoint_ms = 1;
        })
    };
    let apps = std::sync::Arc::new([replica().await, replica().await]);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let apps = apps.clone();
            tokio::spawn(async move {
                let app = &apps[w % 2];
                for i in 0..PER_WRITER {
                    if i % 3 == 0 {
                        let batch = json!([event_body("replicas"), event_body("replicas")]);
                        let r = app.post_json("/api/v1/audit/events/batch", &batch).await;
                        assert_eq!(r.status(), 201);
                    } else {
                        let r = app.post_json(EVENTS, &event_body("replicas")).await;
                        assert_eq!(r.status(), 201);
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let total = 4 * (PER_WRITER + PER_WRITER.div_ceil(3)) as i64;
    let size = apps[0].sync_log().await;
    assert_eq!(size, total as u64);
    let db = pool(&apps[0]).await;
    let (rows, distinct, first, last): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT event_id), min(log_index), max(log_index)
         FROM audit_log_leaves",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((rows, distinct, first, last), (total, total, 0, total - 1));
    let unlogged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events e
         WHERE NOT EXISTS (SELECT 1 FROM audit_log_leaves l WHERE l.event_id = e.event_id)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(unlogged, 0);
    let verifier = NoteVerifier::from_vkey(&vkey).unwrap();
    for app in apps.iter() {
        let cp = open_checkpoint(
            &text(app, "/api/v1/audit/log/checkpoint").await,
            &verifier,
            Some("replicas.test/log"),
        )
        .unwrap();
        assert_eq!(cp.size, total as u64);
    }
    let v = verify(&apps[1], "replicas").await;
    assert_eq!(v["is_valid"], true, "{v}");
    assert_eq!(v["verified_events"], total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archiving_cli_checks_each_checkpoint_against_the_last_one_it_kept() {
    let app = spawn_app(Storage::Memory).await;
    let vkey = text(&app, "/api/v1/audit/log/vkey").await;
    let dir = std::env::temp_dir().join(format!("ds-archive-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let archive = || {
        Command::new(datastorage_binary())
            .args([
                "log",
                "verify",
                "--vkey",
                vkey.trim(),
                "--url",
                &app.base_url,
            ])
            .arg("--archive-dir")
            .arg(&dir)
            .output()
            .unwrap()
    };
    write(&app, "archive", 2).await;
    app.sync_log().await;
    let first = archive();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    write(&app, "archive", 3).await;
    app.sync_log().await;
    let second = archive();
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        stdout.contains("consistent with the saved checkpoint of tree size 2"),
        "{stdout}"
    );
    let mut kept: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept[0].starts_with("00000000000000000002-"), "{kept:?}");
    assert!(kept[1].starts_with("00000000000000000005-"), "{kept:?}");
}

/// `tests/contract/log_verifier.py`: a verifier written from RFC 8785, RFC 9162 and the C2SP
/// specs alone (Python, `cryptography` for Ed25519), never from this code.
fn independent_verifier(args: &[&str]) -> Value {
    let python = std::env::var("DS_PYTHON").unwrap_or_else(|_| {
        panic!(
            "DS_PYTHON is not set: run the tests with scripts/test.sh, which installs the \
             contract tools"
        )
    });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contract/log_verifier.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let verdict: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        out.status.success(),
        verdict["ok"] == true,
        "exit status and verdict disagree: {verdict}"
    );
    verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_verifier_accepts_what_the_service_serves() {
    let selftest = independent_verifier(&["--self-test"]);
    assert_eq!(selftest["ok"], true, "{selftest}");

    let app = spawn_app(Storage::Postgres).await;
    let vkey = text(&app, "/api/v1/audit/log/vkey").await;
    let mut body = event_body("independent");
    body["resource_name"] = json!("naïve \u{2028} \"quoted\" \u{1F600}");
    body["event_data"] = json!({
        "floats": [0.1, 1e21, 1e-7, 5e-324, 4.5, -0.0, 0.30000000000000004],
        "\u{20ac}": "euro", "\r": "cr", "\u{fb33}": 1, "\u{1F600}": 2,
        "text": "tab\there\u{7}bell", "nested": {"b": [true, null], "a": {}}
    });
    assert_eq!(app.post_json(EVENTS, &body).await.status(), 201);
    write(&app, "independent", 4).await;
    app.sync_log().await;
    let dir = std::env::temp_dir().join(format!("ds-indep-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let old = dir.join("old.checkpoint");
    let first = independent_verifier(&[
        "--url",
        &app.base_url,
        "--vkey",
        vkey.trim(),
        "--save",
        old.to_str().unwrap(),
    ]);
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(first["inclusions_verified"], 5, "{first}");

    write(&app, "independent", 3).await;
    app.sync_log().await;
    let second = independent_verifier(&[
        "--url",
        &app.base_url,
        "--vkey",
        vkey.trim(),
        "--old-checkpoint",
        old.to_str().unwrap(),
    ]);
    assert_eq!(second["ok"], true, "{second}");
    assert_eq!(second["consistent_from"], 5, "{second}");
    assert_eq!(second["tree_size"], 8, "{second}");
    assert_eq!(second["inclusions_verified"], 8, "{second}");

    // An edited row no longer matches its leaf, for the independent verifier too.
    sqlx::query(
        "UPDATE audit_events SET event_data = '{\"edited\": true}' WHERE correlation_id = 'independent'
         AND event_id = (SELECT event_id FROM audit_events WHERE correlation_id = 'independent' LIMIT 1)",
    )
    .execute(&pool(&app).await)
    .await
    .unwrap();
    let third = independent_verifier(&["--url", &app.base_url, "--vkey", vkey.trim()]);
    assert_eq!(third["ok"], false, "{third}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_written_behind_the_service_is_logged_from_the_row_itself() {
    let app = spawn_app(Storage::Postgres).await;
    write(&app, "outside", 2).await;
    app.sync_log().await;
    // A row inserted with SQL carries no leaf hash of the writer's: the sequencer hashes it.
    sqlx::raw_sql(
        "CREATE TEMP TABLE copied AS SELECT * FROM audit_events WHERE correlation_id = 'outside' LIMIT 1;
         UPDATE copied SET event_id = gen_random_uuid(), leaf_hash = NULL;
         INSERT INTO audit_events SELECT * FROM copied;",
    )
    .execute(&pool(&app).await)
    .await
    .unwrap();
    assert_eq!(app.sync_log().await, 3);
    let v = verify(&app, "outside").await;
    assert_eq!(v["is_valid"], true, "{v}");
    assert_eq!(v["verified_events"], 3);
}
