//! The OpenAPI document: the committed copy under `openapi/` is what the service serves, and
//! every audit operation of the original contract is still served.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use datastorage_tests::support::{Storage, spawn_app};
use yaml_rust2::{Yaml, YamlLoader};

const REGENERATE: &str = "cargo run -q -p datastorage -- openapi > openapi/openapi.json";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[tokio::test]
async fn the_committed_document_is_byte_identical_to_the_served_one() {
    let committed =
        std::fs::read_to_string(repo_file("openapi/openapi.json")).unwrap_or_else(|e| {
            panic!("openapi/openapi.json is missing ({e}); create it with: {REGENERATE}")
        });
    let app = spawn_app(Storage::Memory).await;
    let served = app
        .get("/api-docs/openapi.json")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        committed == served,
        "openapi/openapi.json differs from the document the service serves; regenerate it with:\n    {REGENERATE}"
    );
}

/// (method, path, status) of every operation in an OpenAPI document's `paths`.
type Operations = BTreeSet<(String, String, String)>;

fn operations_of(paths: &Yaml) -> Operations {
    let mut ops = BTreeSet::new();
    for (path, item) in paths.as_hash().expect("paths is a map") {
        let path = path.as_str().unwrap().to_owned();
        for (method, op) in item.as_hash().unwrap() {
            let method = method.as_str().unwrap().to_uppercase();
            if let Some(responses) = op["responses"].as_hash() {
                for status in responses.keys() {
                    let status = match status {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => panic!("unexpected status key {other:?}"),
                    };
                    ops.insert((method.clone(), path.clone(), status));
                }
            }
        }
    }
    ops
}

#[test]
fn every_audit_and_workflow_operation_of_the_reference_contract_is_served() {
    let reference = std::fs::read_to_string(repo_file(
        "tests/data/kubernaut-datastorage-v1.openapi.yaml",
    ))
    .unwrap();
    let reference = YamlLoader::load_from_str(&reference).unwrap().remove(0);
    // JSON is YAML, so the same reader takes our document.
    let ours = YamlLoader::load_from_str(&datastorage_http::openapi_json())
        .unwrap()
        .remove(0);
    let ours = operations_of(&ours["paths"]);

    // `/api/v1/audit/notifications` wrote the legacy `notification_audit` table, which the
    // original design itself drops in favour of the unified audit_events
    // (DD-STORAGE-010 v1.0, migration 014); notification services write unified events.
    let superseded = "/api/v1/audit/notifications";
    let wanted: Operations = operations_of(&reference["paths"])
        .into_iter()
        .filter(|(_, path, _)| {
            (path.starts_with("/api/v1/audit/") || path.starts_with("/api/v1/workflows"))
                && path != superseded
        })
        .collect();
    assert!(
        wanted.len() >= 6,
        "the reference's audit operations were not found: {wanted:?}"
    );
    let missing: Vec<String> = wanted
        .difference(&ours)
        .map(|(m, p, s)| format!("{m} {p} -> {s}"))
        .collect();
    assert!(
        missing.is_empty(),
        "reference operations we do not serve:\n{}",
        missing.join("\n")
    );
}
