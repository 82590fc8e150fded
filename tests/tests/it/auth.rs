//! Authentication and authorisation: every route group answers 401 without a valid token
//! and 403 with the wrong role; probes stay open; the token's identity is the recorded actor.

use datastorage::{Application, StartupError};
use datastorage_domain::sha256_hex;
use datastorage_tests::support::*;
use reqwest::Method;
use serde_json::{Value, json};

const ROLES: [(&str, &str); 6] = [
    ("writer", "audit-writer"),
    ("reader", "audit-reader"),
    ("auditadmin", "audit-admin"),
    ("admin", "catalog-admin"),
    ("catalog", "catalog-reader"),
    ("ops", "operator"),
];

fn token(identity: &str) -> String {
    format!("secret-token-of-{identity}")
}

fn tokens_file() -> std::path::PathBuf {
    let tokens: Vec<Value> = ROLES
        .iter()
        .map(
            |(id, role)| json!({"identity": id, "sha256": sha256_hex(&token(id)), "roles": [role]}),
        )
        .collect();
    let path = std::env::temp_dir().join(format!("tokens-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(&path, json!({"tokens": tokens}).to_string()).unwrap();
    path
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
    who: Option<&str>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(b) = body {
        req = req.json(b);
    }
    if let Some(w) = who {
        req = req.bearer_auth(token(w));
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_group_needs_a_token_with_the_right_role() {
    let file = tokens_file();
    let app = spawn_app_with(Storage::Memory, |s| s.auth.tokens_file = Some(file.clone())).await;
    let id = uuid::Uuid::now_v7();
    let search = json!({"filters": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod", "environment": "production", "priority": "P0"}});
    let groups: Vec<(Method, String, Option<Value>, &str, &str)> = vec![
        (
            Method::POST,
            "/api/v1/audit/events".into(),
            Some(event_body("auth")),
            "writer",
            "reader",
        ),
        (
            Method::POST,
            "/api/v1/audit/events/batch".into(),
            Some(json!([event_body("auth")])),
            "writer",
            "admin",
        ),
        (
            Method::GET,
            "/api/v1/audit/events".into(),
            None,
            "reader",
            "writer",
        ),
        (
            Method::GET,
            format!("/api/v1/audit/events/{id}"),
            None,
            "reader",
            "ops",
        ),
        (
            Method::GET,
            "/api/v1/audit/correlations/auth".into(),
            None,
            "reader",
            "catalog",
        ),
        (
            Method::GET,
            "/api/v1/audit/correlations/auth/timeline".into(),
            None,
            "reader",
            "writer",
        ),
        (
            Method::GET,
            "/api/v1/effectiveness/auth".into(),
            None,
            "reader",
            "writer",
        ),
        (
            Method::GET,
            "/api/v1/incidents".into(),
            None,
            "reader",
            "writer",
        ),
        (
            Method::GET,
            "/api/v1/incidents/auth".into(),
            None,
            "reader",
            "catalog",
        ),
        (
            Method::GET,
            "/api/v1/remediation-history/context?targetKind=Deployment&targetName=api&currentSpecHash=h".into(),
            None,
            "reader",
            "writer",
        ),
        (
            Method::GET,
            "/api/v1/workflows".into(),
            None,
            "catalog",
            "writer",
        ),
        (
            Method::POST,
            "/api/v1/workflows/search".into(),
            Some(search),
            "catalog",
            "reader",
        ),
        (
            Method::POST,
            "/api/v1/workflows".into(),
            Some(json!({})),
            "admin",
            "catalog",
        ),
        (
            Method::PATCH,
            format!("/api/v1/workflows/{id}/disable"),
            None,
            "admin",
            "catalog",
        ),
        (
            Method::DELETE,
            "/api/v1/cache/workflows".into(),
            None,
            "admin",
            "reader",
        ),
        (Method::GET, "/api/v1/dlq".into(), None, "ops", "admin"),
        (
            Method::GET,
            "/api/v1/audit/log/vkey".into(),
            None,
            "reader",
            "writer",
        ),
        (
            Method::GET,
            format!("/api/v1/audit/log/proof/inclusion?event_id={id}"),
            None,
            "reader",
            "catalog",
        ),
        (
            Method::POST,
            "/api/v1/audit/verify-chain".into(),
            Some(json!({"correlation_id": "auth"})),
            "reader",
            "writer",
        ),
        (
            Method::POST,
            "/api/v1/audit/legal-hold".into(),
            Some(json!({"correlation_id": "auth", "reason": "r"})),
            "auditadmin",
            "writer",
        ),
        (
            Method::DELETE,
            "/api/v1/audit/legal-hold/auth".into(),
            Some(json!({"release_reason": "r"})),
            "auditadmin",
            "reader",
        ),
        (
            Method::GET,
            "/api/v1/audit/legal-hold".into(),
            None,
            "reader",
            "writer",
        ),
        (
            Method::GET,
            "/api/v1/audit/export".into(),
            None,
            "reader",
            "writer",
        ),
        (
            Method::GET,
            "/api/v1/audit/log/status".into(),
            None,
            "ops",
            "catalog",
        ),
    ];
    for (method, path, body, allowed, denied) in &groups {
        let anonymous = call(&app, method.clone(), path, body.as_ref(), None).await;
        assert_eq!(anonymous.status(), 401, "{method} {path} without a token");
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        let problem: Value = anonymous.json().await.unwrap();
        assert_eq!(
            problem["type"],
            "https://kubernaut.io/problems/unauthorized"
        );
        let mut forged = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth("not-a-token");
        if let Some(b) = body {
            forged = forged.json(b);
        }
        assert_eq!(
            forged.send().await.unwrap().status(),
            401,
            "{method} {path} with an unknown token"
        );
        let wrong = call(&app, method.clone(), path, body.as_ref(), Some(denied)).await;
        assert_eq!(wrong.status(), 403, "{method} {path} as {denied}");
        let problem: Value = wrong.json().await.unwrap();
        assert_eq!(problem["type"], "https://kubernaut.io/problems/forbidden");
        let right = call(&app, method.clone(), path, body.as_ref(), Some(allowed)).await;
        assert!(
            ![401, 403].contains(&right.status().as_u16()),
            "{method} {path} as {allowed}: {}",
            right.status()
        );
    }
    for open in [
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/api-docs/openapi.json",
    ] {
        assert_eq!(app.get(open).await.status(), 200, "{open} stays open");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tokens_identity_is_the_recorded_actor() {
    let file = tokens_file();
    let app = spawn_app_with(Storage::Memory, |s| s.auth.tokens_file = Some(file.clone())).await;
    let mut body = event_body("actor");
    body["actor_id"] = json!("someone-else");
    let created = call(
        &app,
        Method::POST,
        "/api/v1/audit/events",
        Some(&body),
        Some("writer"),
    )
    .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/audit/events/{id}"),
        None,
        Some("reader"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(stored["actor_id"], "writer");
}

#[tokio::test]
async fn without_tokens_a_non_loopback_address_is_refused_naming_the_key() {
    let mut settings = datastorage::Settings::defaults();
    settings.http.addr = "0.0.0.0:0".parse().unwrap();
    settings.embedder.kind = datastorage::EmbedderKind::None;
    match Application::build(settings.clone()).await {
        Err(
            e @ StartupError::Setting {
                key: "DS_AUTH__TOKENS_FILE",
                ..
            },
        ) => {
            assert!(e.to_string().contains("DS_AUTH__TOKENS_FILE"))
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("started without authentication on 0.0.0.0"),
    }
    let bad = std::env::temp_dir().join(format!("tokens-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(
        &bad,
        r#"{"tokens": [{"identity": "x", "sha256": "abc", "roles": ["root"]}]}"#,
    )
    .unwrap();
    settings.auth.tokens_file = Some(bad);
    let err = Application::build(settings)
        .await
        .err()
        .expect("a bad tokens file is refused");
    assert!(err.to_string().contains("DS_AUTH__TOKENS_FILE"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tokens_file_is_reloaded_when_it_changes_and_a_broken_one_keeps_the_old_tokens() {
    let write = |path: &std::path::Path, ids: &[&str]| {
        let tokens: Vec<Value> = ids
            .iter()
            .map(|id| json!({"identity": id, "sha256": sha256_hex(&token(id)), "roles": ["audit-writer"]}))
            .collect();
        std::fs::write(path, json!({"tokens": tokens}).to_string()).unwrap();
    };
    let file = std::env::temp_dir().join(format!("tokens-{}.json", uuid::Uuid::now_v7()));
    write(&file, &["old"]);
    let app = spawn_app_with(Storage::Memory, |s| {
        s.auth.tokens_file = Some(file.clone());
        // The watcher is off: the test re-reads the file itself, so nothing is timed.
        s.auth.tokens_reload_secs = 0;
    })
    .await;
    let post = |who: &'static str| {
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/audit/events",
                Some(&event_body("reload")),
                Some(who),
            )
            .await
            .status()
            .as_u16()
        }
    };
    assert_eq!(post("old").await, 201);
    assert_eq!(post("new").await, 401);
    assert_eq!(
        app.credentials.reload_tokens_file(),
        Some(datastorage::TokensReload::Unchanged)
    );

    write(&file, &["new"]);
    assert_eq!(
        app.credentials.reload_tokens_file(),
        Some(datastorage::TokensReload::Reloaded { tokens: 1 })
    );
    assert_eq!(
        post("new").await,
        201,
        "an added token works without a restart"
    );
    let removed = call(
        &app,
        Method::POST,
        "/api/v1/audit/events",
        Some(&event_body("reload")),
        Some("old"),
    )
    .await;
    assert_eq!(removed.status(), 401, "a removed token is refused");
    assert_eq!(
        removed.json::<Value>().await.unwrap()["type"],
        "https://kubernaut.io/problems/unauthorized"
    );

    std::fs::write(
        &file,
        r#"{"tokens": [{"identity": "x", "sha256": "abc", "roles": []}]}"#,
    )
    .unwrap();
    assert!(matches!(
        app.credentials.reload_tokens_file(),
        Some(datastorage::TokensReload::Refused(_))
    ));
    assert_eq!(
        post("new").await,
        201,
        "a broken file keeps the tokens in use"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("datastorage_auth_tokens_reload_failures_total ")),
        "the refused reload is counted"
    );
}
