//! Configuration, against the real binary: every invalid setting is refused at start with an
//! error that names its key; the layers apply in order; secrets never print.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_datastorage"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().expect("run the binary")
}

fn temp_file(contents: &str) -> String {
    let path = std::env::temp_dir().join(format!("ds-config-{}", uuid::Uuid::now_v7()));
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

#[test]
fn every_invalid_setting_is_refused_naming_its_key() {
    let unknown_key = temp_file(r#"{"http": {"adress": "127.0.0.1:1"}}"#);
    let not_json = temp_file("addr = 1");
    let bad_tokens =
        temp_file(r#"{"tokens": [{"identity": "x", "sha256": "00", "roles": ["audit-writer"]}]}"#);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("DS_HTTP__ADDR", "not-an-address")], "DS_HTTP__ADDR"),
        (
            vec![("DS_HTTP__BODY_LIMIT_BYTES", "-1")],
            "DS_HTTP__BODY_LIMIT_BYTES",
        ),
        (
            vec![("DS_HTTP__REQUEST_TIMEOUT_MS", "soon")],
            "DS_HTTP__REQUEST_TIMEOUT_MS",
        ),
        (
            vec![("DS_HTTP__MAX_CONNECTIONS", "0")],
            "DS_HTTP__MAX_CONNECTIONS",
        ),
        (
            vec![("DS_HTTP__BODY_READ_TIMEOUT_MS", "0")],
            "DS_HTTP__BODY_READ_TIMEOUT_MS",
        ),
        (
            vec![("DS_DATABASE__MAX_CONNECTIONS", "many")],
            "DS_DATABASE__MAX_CONNECTIONS",
        ),
        (vec![("DS_AUDIT__MAX_BATCH", "0")], "DS_AUDIT__MAX_BATCH"),
        (
            vec![("DS_AUDIT__DEFAULT_RETENTION_DAYS", "billing=30")],
            "DS_AUDIT__DEFAULT_RETENTION_DAYS",
        ),
        (
            vec![("DS_AUDIT__DEFAULT_RETENTION_DAYS", "workflow=9999")],
            "DS_AUDIT__DEFAULT_RETENTION_DAYS",
        ),
        (
            vec![("DS_AUDIT_LOG__KEY_FILE", "/nonexistent/key")],
            "DS_AUDIT_LOG__KEY_FILE",
        ),
        (vec![("DS_RETRY__ATTEMPTS", "0")], "DS_RETRY__ATTEMPTS"),
        (vec![("DS_DLQ__CAPACITY", "lots")], "DS_DLQ__CAPACITY"),
        (vec![("DS_LOG__FORMAT", "xml")], "DS_LOG__FORMAT"),
        (vec![("DS_EMBEDDER__KIND", "gpu")], "DS_EMBEDDER__KIND"),
        (
            vec![("DS_AUTH__ALLOW_ANONYMOUS", "maybe")],
            "DS_AUTH__ALLOW_ANONYMOUS",
        ),
        (
            vec![("CONFIG_PATH", "/nonexistent/config.json")],
            "CONFIG_PATH",
        ),
        (vec![("CONFIG_PATH", not_json.as_str())], "CONFIG_PATH"),
        (
            vec![("CONFIG_PATH", unknown_key.as_str())],
            "DS_HTTP__ADRESS",
        ),
        (
            vec![("DATABASE_URL_FILE", "/nonexistent/secret")],
            "DATABASE_URL_FILE",
        ),
        (
            vec![
                ("DS_AUTH__TOKENS_FILE", bad_tokens.as_str()),
                ("DS_EMBEDDER__KIND", "none"),
            ],
            "DS_AUTH__TOKENS_FILE",
        ),
        (
            vec![
                ("DS_HTTP__ADDR", "0.0.0.0:0"),
                ("DS_EMBEDDER__KIND", "none"),
            ],
            "DS_AUTH__TOKENS_FILE",
        ),
        (vec![("DS_MODEL_DIR", "/nonexistent/model")], "model"),
        (
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        (
            vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318")],
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ),
        (
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "no-value"),
            ],
            "OTEL_EXPORTER_OTLP_HEADERS",
        ),
        (
            vec![("OTEL_BSP_MAX_QUEUE_SIZE", "0")],
            "OTEL_BSP_MAX_QUEUE_SIZE",
        ),
    ];
    for (env, key) in cases {
        let out = run(&env, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{env:?} started anyway");
        assert!(
            stderr.contains(key) || stdout.contains(key),
            "{env:?}: the error does not name {key}:\n{stderr}{stdout}"
        );
    }
}

#[test]
fn layers_apply_in_order_and_secrets_never_print() {
    let file = temp_file(
        r#"{"http": {"addr": "127.0.0.1:9001", "body_limit_bytes": 1000}, "database_url": "postgres://app:file-secret@db/ds"}"#,
    );
    let secret = temp_file("redis://:redis-secret@cache:6379/\n");
    let out = run(
        &[
            ("CONFIG_PATH", &file),
            ("DS_HTTP__ADDR", "127.0.0.1:9002"),
            ("REDIS_URL_FILE", &secret),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20otlp-secret",
            ),
        ],
        &["--body-limit-bytes", "2000", "config", "print"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("127.0.0.1:9002"),
        "the environment beats the file:\n{printed}"
    );
    assert!(
        printed.contains("body_limit_bytes: 2000"),
        "the command line beats both:\n{printed}"
    );
    assert!(
        printed.contains("postgres://app:***@db/ds"),
        "the file's database URL, redacted:\n{printed}"
    );
    assert!(
        printed.contains("redis://:***@cache:6379"),
        "the mounted secret, redacted:\n{printed}"
    );
    assert!(
        !printed.contains("file-secret")
            && !printed.contains("redis-secret")
            && !printed.contains("otlp-secret")
    );
    let help = run(
        &[("CONFIG_PATH", &file), ("REDIS_URL_FILE", &secret)],
        &["--help"],
    );
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(!help.contains("secret"), "--help never shows a secret");
    assert!(
        help.contains("DS_HTTP__ADDR") && help.contains("DATABASE_URL"),
        "--help documents the settings"
    );
}
