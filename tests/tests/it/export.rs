//! The verifiable export: streamed from the service, checked offline by
//! `datastorage export verify`, and refused by it when the file is changed in any way.

use std::path::{Path, PathBuf};
use std::process::Command;

use datastorage_domain::sha256_hex;
use datastorage_tests::support::*;
use serde_json::{Value, json};

const EVENTS: &str = "/api/v1/audit/events";

fn verify(file: &Path, vkey: &str) -> (bool, String) {
    let out = Command::new(datastorage_binary())
        .args(["export", "verify"])
        .arg(file)
        .args(["--vkey", vkey.trim()])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ds-export-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

async fn exported(app: &TestApp, query: &str, token: Option<&str>) -> (String, Vec<u8>) {
    let mut request = app
        .client
        .get(app.url(&format!("/api/v1/audit/export{query}")));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (kind, response.bytes().await.unwrap().to_vec())
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

async fn write_events(app: &TestApp, correlation: &str, n: usize, token: Option<&str>) {
    for i in 0..n {
        let mut body = event_body(correlation);
        body["event_data"] = json!({"i": i, "ratio": 0.25 * i as f64, "text": "é\u{2028}"});
        let mut request = app.client.post(app.url(EVENTS)).json(&body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        assert_eq!(request.send().await.unwrap().status(), 201);
    }
}

async fn export_verifies_and_every_change_to_the_file_fails(storage: Storage) {
    let app = spawn_app(storage).await;
    write_events(&app, "export-a", 6, None).await;
    write_events(&app, "export-b", 3, None).await;
    app.sync_log().await;
    let vkey = app
        .get("/api/v1/audit/log/vkey")
        .await
        .text()
        .await
        .unwrap();
    let (kind, bytes) = exported(&app, "?correlation_id=export-a", None).await;
    assert_eq!(kind, "application/x-ndjson");
    let all = lines(&bytes);
    assert_eq!(all.len(), 1 + 6 + 1, "header, six events, manifest");
    let file = scratch("export.ndjson");
    std::fs::write(&file, &bytes).unwrap();
    let (ok, said) = verify(&file, &vkey);
    assert!(ok, "{said}");
    assert!(said.contains("ok: 6 events"), "{said}");

    let changed = |parts: Vec<Vec<u8>>| {
        let path = scratch("changed.ndjson");
        std::fs::write(&path, parts.concat()).unwrap();
        verify(&path, &vkey)
    };
    // One byte of an event: its leaf no longer matches (line 3 is the second event).
    let mut flipped = all.clone();
    let at = String::from_utf8_lossy(&flipped[2])
        .find("\"ratio\":")
        .unwrap()
        + 8;
    flipped[2][at] = if flipped[2][at] == b'1' { b'2' } else { b'1' };
    let (ok, said) = changed(flipped);
    assert!(!ok);
    assert!(
        said.contains("line 3 (event ") && said.contains("does not hash"),
        "{said}"
    );
    // A line dropped: the manifest signed one more event.
    let mut dropped = all.clone();
    dropped.remove(4);
    let (ok, said) = changed(dropped);
    assert!(!ok);
    assert!(said.contains("signs 6 events, the file holds 5"), "{said}");
    // Two lines swapped: each still proves, the signed digest does not.
    let mut swapped = all.clone();
    swapped.swap(2, 5);
    let (ok, said) = changed(swapped);
    assert!(!ok);
    assert!(said.contains("not the ones it signed"), "{said}");
    // The manifest edited: its signature fails.
    let mut edited = all.clone();
    let last = edited.len() - 1;
    let manifest = String::from_utf8(edited[last].clone())
        .unwrap()
        .replace("\\n6\\n", "\\n5\\n");
    edited[last] = manifest.into_bytes();
    let (ok, said) = changed(edited);
    assert!(!ok);
    assert!(said.contains("manifest's signature"), "{said}");
    // Cut short: no manifest.
    let (ok, said) = changed(all[..all.len() - 1].to_vec());
    assert!(!ok);
    assert!(said.contains("no manifest"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_verifies_offline_and_any_change_fails_on_memory() {
    export_verifies_and_every_change_to_the_file_fails(Storage::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_verifies_offline_and_any_change_fails_on_postgres() {
    export_verifies_and_every_change_to_the_file_fails(Storage::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_spans_pages_is_filtered_and_is_itself_an_audit_event() {
    let token = "secret-token-of-the-auditor";
    let tokens = scratch("tokens.json");
    std::fs::write(
        &tokens,
        json!({"tokens": [{"identity": "auditor", "sha256": sha256_hex(token),
            "roles": ["audit-reader", "audit-writer"]}]})
        .to_string(),
    )
    .unwrap();
    let app = spawn_app_with(Storage::Postgres, |s| s.auth.tokens_file = Some(tokens)).await;
    // More than one page of the export's reads (500).
    let batch: Vec<Value> = (0..1200).map(|_| event_body("export-pages")).collect();
    for chunk in batch.chunks(400) {
        let r = app
            .client
            .post(app.url("/api/v1/audit/events/batch"))
            .bearer_auth(token)
            .json(&chunk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    write_events(&app, "export-other", 2, Some(token)).await;
    app.sync_log().await;
    let vkey = app
        .client
        .get(app.url("/api/v1/audit/log/vkey"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, bytes) = exported(
        &app,
        "?correlation_id=export-pages&start_time=1h",
        Some(token),
    )
    .await;
    let all = lines(&bytes);
    assert_eq!(all.len(), 1202);
    let mut ids: Vec<String> = all[1..1201]
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_slice(l).unwrap();
            assert_eq!(v["event"]["correlation_id"], "export-pages");
            v["event"]["event_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1200, "every event once");
    let file = scratch("pages.ndjson");
    std::fs::write(&file, &bytes).unwrap();
    let (ok, said) = verify(&file, &vkey);
    assert!(ok, "{said}");

    // The export was recorded, with the token's identity and what was asked.
    let recorded: Value = app
        .client
        .get(app.url(&format!("{EVENTS}?event_type=datastorage.audit.exported")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let event = &recorded["data"][0];
    assert_eq!(event["actor_id"], "auditor", "{recorded}");
    assert_eq!(event["event_data"]["events"], 1200);
    assert_eq!(event["event_data"]["complete"], true);
    assert_eq!(
        event["event_data"]["filters"]["correlation_id"],
        "export-pages"
    );

    // Bad filters are a problem before anything streams.
    let r = app
        .client
        .get(app.url("/api/v1/audit/export?start_time=soon&event_category=nope"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert!(problem["field_errors"]["start_time"].is_string());
    assert!(problem["field_errors"]["event_category"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_whose_reader_goes_away_stops_reading() {
    let app = spawn_app(Storage::Memory).await;
    let batch: Vec<Value> = (0..1100).map(|_| event_body("export-gone")).collect();
    for chunk in batch.chunks(550) {
        let r = app
            .post_json("/api/v1/audit/events/batch", &json!(chunk))
            .await;
        assert_eq!(r.status(), 201);
    }
    app.sync_log().await;
    let prepared = app
        .log
        .prepare_export(datastorage_application::log::ExportInput::default())
        .await
        .unwrap();
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1);
    let log = app.log.clone();
    let export = tokio::spawn(async move { log.run_export(prepared, &sender).await });
    // Read the header and one event, then go away as a disconnected client does.
    receiver.recv().await.unwrap();
    receiver.recv().await.unwrap();
    drop(receiver);
    let summary = export.await.unwrap().unwrap();
    assert!(!summary.complete);
    assert!(
        summary.events < 600,
        "it stopped within its first page of reads, not after all 1,100: {}",
        summary.events
    );
}
