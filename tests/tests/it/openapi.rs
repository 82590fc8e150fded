//! The OpenAPI document: the committed copy under `openapi/` is what the service serves,
//! every operation of the original contract is still served, and a client generated from the
//! original contract works unchanged against the service.

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

    let wanted: Operations = operations_of(&reference["paths"])
        .into_iter()
        .filter(|(_, path, _)| {
            path.starts_with("/api/v1/audit/") || path.starts_with("/api/v1/workflows")
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

/// The Python with the contract tools (openapi-python-client, openapi-core), or a panic that
/// says how to get one.
fn contract_python() -> PathBuf {
    PathBuf::from(std::env::var("DS_PYTHON").unwrap_or_else(|_| {
        panic!(
            "DS_PYTHON is not set: run the tests with scripts/test.sh, which installs the \
             contract tools (openapi-python-client, openapi-core) into its Python"
        )
    }))
}

/// A client package generated from the original contract, once per test run.
fn original_client() -> &'static PathBuf {
    static CLIENT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ds-original-client-{}", uuid::Uuid::now_v7()));
        let generator = contract_python().with_file_name("openapi-python-client");
        let out = std::process::Command::new(&generator)
            .args(["generate", "--meta", "none", "--output-path"])
            .arg(dir.join("original_client"))
            .arg("--path")
            .arg(repo_file(
                "tests/data/kubernaut-datastorage-v1.openapi.yaml",
            ))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", generator.display()));
        assert!(
            dir.join("original_client/client.py").exists(),
            "openapi-python-client made no client:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("original_client")
    })
}

/// Runs `tests/contract/original_client.py` against a live service: every operation of the
/// original contract through the generated client, every response validated against the
/// original contract by openapi-core.
async fn original_client_runs_unchanged_against(storage: Storage) {
    let app = spawn_app(storage).await;
    let base_url = app.base_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(contract_python())
            .arg(repo_file("tests/contract/original_client.py"))
            .arg(&base_url)
            .arg(repo_file(
                "tests/data/kubernaut-datastorage-v1.openapi.yaml",
            ))
            .arg(original_client())
            .output()
            .expect("run the contract client")
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the original contract's client failed:\n{report}"
    );
    assert!(
        report.contains("responses valid against the original contract"),
        "{report}"
    );
    println!("{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_generated_from_the_original_contract_works_on_memory() {
    original_client_runs_unchanged_against(Storage::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_generated_from_the_original_contract_works_on_postgres() {
    original_client_runs_unchanged_against(Storage::Postgres).await;
}
