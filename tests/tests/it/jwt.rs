//! JWT callers: tokens signed here, keys served by a JWKS server this test runs (found
//! through the issuer's discovery document), beside a tokens file. A valid token's `sub` is
//! the recorded actor; each kind of bad token is a 401 problem; a rotated key is fetched;
//! a caller without a mapped role gets 403.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use datastorage_domain::sha256_hex;
use datastorage_tests::support::*;
use datastorage_tests::tls::{TestPki, serve_https};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use serde_json::{Value, json};

/// The test-only RSA key (tests/fixtures/README.md).
const RSA_PKCS8: &[u8] = include_bytes!("../../fixtures/jwt-test-rsa-2048.pk8.der");
const GATEWAY: &str = "system:serviceaccount:kubernaut:gateway";

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Key {
    fn rsa() -> Self {
        Self::Rsa(RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap())
    }

    fn ec() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Self::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap(),
        )
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RS256",
            Self::Ec(_) => "ES256",
        }
    }

    fn jwk(&self, kid: &str) -> Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self {
            Self::Rsa(k) => {
                let c: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
                json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(&c.n), "e": b64(&c.e)})
            }
            Self::Ec(k) => {
                let point = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(&point[1..33]), "y": b64(&point[33..])})
            }
        }
    }

    fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let sig = match self {
            Self::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                    .unwrap();
                sig
            }
            Self::Ec(k) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn sign(&self, kid: &str, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": self.alg(), "kid": kid}), claims)
    }
}

/// An OIDC issuer's two documents, its key set replaceable mid-test.
struct Issuer {
    url: String,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct IssuerState {
    url: String,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

async fn start_issuer(keys: Vec<Value>) -> Issuer {
    start_issuer_on(keys, None).await
}

/// The issuer over plain HTTP, or over HTTPS with `pki`'s certificate.
async fn start_issuer_on(keys: Vec<Value>, pki: Option<&TestPki>) -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = match pki {
        Some(_) => format!("https://localhost:{port}"),
        None => format!("http://127.0.0.1:{port}"),
    };
    let state = IssuerState {
        url: url.clone(),
        jwks: Arc::new(Mutex::new(json!({"keys": keys}))),
        fetches: Arc::new(AtomicUsize::new(0)),
    };
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(s): State<IssuerState>| async move {
                Json(json!({"issuer": s.url, "jwks_uri": format!("{}/keys", s.url)}))
            }),
        )
        .route(
            "/keys",
            get(|State(s): State<IssuerState>| async move {
                s.fetches.fetch_add(1, Ordering::SeqCst);
                Json(s.jwks.lock().unwrap().clone())
            }),
        )
        .with_state(state.clone());
    match pki {
        Some(pki) => {
            serve_https(listener, router, pki);
        }
        None => {
            tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        }
    }
    Issuer {
        url,
        jwks: state.jwks,
        fetches: state.fetches,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(issuer: &str, sub: &str) -> Value {
    json!({"iss": issuer, "sub": sub, "aud": ["https://kubernetes.default.svc", "datastorage"],
           "iat": now(), "nbf": now() - 5, "exp": now() + 600,
           "kubernetes.io": {"namespace": "kubernaut"}})
}

async fn send(app: &TestApp, token: &str, path: &str, body: Option<&Value>) -> reqwest::Response {
    let req = match body {
        Some(b) => app.client.post(app.url(path)).json(b),
        None => app.client.get(app.url(path)),
    };
    req.bearer_auth(token).send().await.unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let response = send(app, token, "/api/v1/audit/events", Some(&event_body("jwt"))).await;
    assert_eq!(response.status(), 401, "{what}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["type"], "https://kubernaut.io/problems/unauthorized",
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwts_of_the_issuer_are_verified_mapped_to_roles_and_their_subject_is_the_actor() {
    let (rsa, ec) = (Key::rsa(), Key::ec());
    let issuer = start_issuer(vec![rsa.jwk("rsa-1"), ec.jwk("ec-1")]).await;
    let tokens_file = std::env::temp_dir().join(format!("tokens-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(
        &tokens_file,
        json!({"tokens": [{"identity": "auditor", "sha256": sha256_hex("auditor-token"), "roles": ["audit-reader"]}]})
            .to_string(),
    )
    .unwrap();
    let issuer_url = issuer.url.clone();
    let app = spawn_app_with(Storage::Memory, |s| {
        s.auth.tokens_file = Some(tokens_file.clone());
        s.auth.jwt.issuer = Some(issuer_url);
        s.auth.jwt.audience = Some("datastorage".into());
        s.auth.jwt.roles = json!({
            "subjects": {GATEWAY: ["audit-writer"]},
            "groups": {"kubernaut-readers": ["audit-reader"]},
        })
        .to_string();
        // Every unknown kid fetches at once, so the rotation below needs no waiting.
        s.auth.jwt.jwks_refetch_secs = 0;
    })
    .await;

    // RS256, role by subject: the event's actor is the token's sub, not the body's.
    let mut body = event_body("jwt-actor");
    body["actor_id"] = json!("someone-else");
    let created = send(
        &app,
        &rsa.sign("rsa-1", &claims(&issuer.url, GATEWAY)),
        "/api/v1/audit/events",
        Some(&body),
    )
    .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // ES256, role by group claim.
    let mut reader_claims = claims(&issuer.url, "system:serviceaccount:kubernaut:console");
    reader_claims["groups"] = json!(["system:authenticated", "kubernaut-readers"]);
    let reader = ec.sign("ec-1", &reader_claims);
    let stored = send(&app, &reader, &format!("/api/v1/audit/events/{id}"), None).await;
    assert_eq!(stored.status(), 200);
    assert_eq!(stored.json::<Value>().await.unwrap()["actor_id"], GATEWAY);
    // The tokens file still works beside the issuer.
    let by_file = send(
        &app,
        "auditor-token",
        &format!("/api/v1/audit/events/{id}"),
        None,
    )
    .await;
    assert_eq!(by_file.status(), 200);

    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims(&issuer.url, GATEWAY);
        edit(&mut c);
        c
    };
    assert_refused(
        &app,
        &rsa.sign("rsa-1", &edited(&|c| c["exp"] = json!(now() - 3600))),
        "expired",
    )
    .await;
    assert_refused(
        &app,
        &rsa.sign("rsa-1", &edited(&|c| c["aud"] = json!("another-service"))),
        "wrong audience",
    )
    .await;
    assert_refused(
        &app,
        &rsa.sign(
            "rsa-1",
            &edited(&|c| c["iss"] = json!("https://evil.example")),
        ),
        "wrong issuer",
    )
    .await;
    assert_refused(
        &app,
        &Key::ec().sign("ec-unknown", &claims(&issuer.url, GATEWAY)),
        "unknown key",
    )
    .await;
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "rsa-1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims(&issuer.url, GATEWAY).to_string())
    );
    assert_refused(&app, &unsigned, "alg none").await;
    // Signed by another key under a published kid.
    assert_refused(
        &app,
        &Key::ec().sign("ec-1", &claims(&issuer.url, GATEWAY)),
        "bad signature",
    )
    .await;
    let hs256 = ec.sign_with_header(
        &json!({"alg": "HS256", "kid": "ec-1"}),
        &claims(&issuer.url, GATEWAY),
    );
    assert_refused(&app, &hs256, "an algorithm not allowed").await;

    // Each refusal above was for its own reason.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for reason in [
        "expired",
        "audience",
        "issuer",
        "unknown_key",
        "algorithm",
        "signature",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("datastorage_auth_jwt_refused_total{")
                    && l.contains(&format!("reason=\"{reason}\""))),
            "a refusal for {reason} is counted"
        );
    }

    // The issuer rotates to a key the service has not seen: its kid makes the service fetch.
    let rotated = Key::ec();
    *issuer.jwks.lock().unwrap() = json!({"keys": [rotated.jwk("ec-2")]});
    let before = issuer.fetches.load(Ordering::SeqCst);
    let after_rotation = send(
        &app,
        &rotated.sign("ec-2", &claims(&issuer.url, GATEWAY)),
        "/api/v1/audit/events",
        Some(&event_body("jwt-rotated")),
    )
    .await;
    assert_eq!(after_rotation.status(), 201, "a token of the rotated key");
    assert!(
        issuer.fetches.load(Ordering::SeqCst) > before,
        "the new key was fetched"
    );

    // A valid token whose subject and groups map to no role.
    let nobody = rotated.sign(
        "ec-2",
        &claims(&issuer.url, "system:serviceaccount:other:app"),
    );
    let forbidden = send(
        &app,
        &nobody,
        "/api/v1/audit/events",
        Some(&event_body("jwt")),
    )
    .await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        forbidden.json::<Value>().await.unwrap()["type"],
        "https://kubernaut.io/problems/forbidden"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_kids_cannot_make_the_service_fetch_keys_more_than_once_per_interval() {
    let key = Key::ec();
    let issuer = start_issuer(vec![key.jwk("k1")]).await;
    let issuer_url = issuer.url.clone();
    let app = spawn_app_with(Storage::Memory, |s| {
        s.auth.jwt.issuer = Some(issuer_url);
        s.auth.jwt.audience = Some("datastorage".into());
        s.auth.jwt.roles = json!({"subjects": {GATEWAY: ["audit-writer"]}}).to_string();
        s.auth.jwt.jwks_refetch_secs = 3600;
    })
    .await;
    let valid = key.sign("k1", &claims(&issuer.url, GATEWAY));
    let created = send(
        &app,
        &valid,
        "/api/v1/audit/events",
        Some(&event_body("jwt-kids")),
    )
    .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        1,
        "the first token fetches the keys"
    );
    for i in 0..5 {
        let forged = Key::ec().sign(&format!("made-up-{i}"), &claims(&issuer.url, GATEWAY));
        assert_refused(&app, &forged, "a made-up kid").await;
    }
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        1,
        "no fetch within the interval"
    );
    let again = send(
        &app,
        &valid,
        "/api/v1/audit/events",
        Some(&event_body("jwt-kids")),
    )
    .await;
    assert_eq!(again.status(), 201, "the cached key still works");
}

#[tokio::test]
async fn an_issuer_without_an_audience_or_with_a_bad_role_mapping_is_refused_at_start() {
    let mut settings = datastorage::Settings::defaults();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.embedder.kind = datastorage::EmbedderKind::None;
    settings.auth.jwt.issuer = Some("https://issuer.example".into());
    let err = datastorage::Application::build(settings.clone())
        .await
        .err()
        .expect("no audience");
    assert!(err.to_string().contains("DS_AUTH__JWT_AUDIENCE"), "{err}");
    settings.auth.jwt.audience = Some("datastorage".into());
    settings.auth.jwt.roles = r#"{"subjects": {"a": ["root"]}}"#.into();
    let err = datastorage::Application::build(settings.clone())
        .await
        .err()
        .expect("bad roles");
    assert!(err.to_string().contains("DS_AUTH__JWT_ROLES"), "{err}");
    settings.auth.jwt.roles = "{}".into();
    settings.auth.jwt.algorithms = "RS256,none".into();
    let err = datastorage::Application::build(settings)
        .await
        .err()
        .expect("alg none");
    assert!(err.to_string().contains("DS_AUTH__JWT_ALGORITHMS"), "{err}");
}

/// A real issuer's discovery and JWKS are https: trusted through DS_AUTH__JWT_CA_FILE, the
/// keys are fetched; without it the certificate is not trusted and no token verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_fetched_over_https_from_an_issuer_the_ca_file_trusts() {
    let pki = TestPki::new();
    let key = Key::ec();
    let issuer = start_issuer_on(vec![key.jwk("k1")], Some(&pki)).await;
    let token = key.sign("k1", &claims(&issuer.url, GATEWAY));
    let configure = |ca_file: Option<std::path::PathBuf>| {
        let issuer_url = issuer.url.clone();
        move |s: &mut datastorage::Settings| {
            s.auth.jwt.issuer = Some(issuer_url);
            s.auth.jwt.audience = Some("datastorage".into());
            s.auth.jwt.roles = json!({"subjects": {GATEWAY: ["audit-writer"]}}).to_string();
            s.auth.jwt.ca_file = ca_file;
        }
    };

    let trusting = spawn_app_with(Storage::Memory, configure(Some(pki.ca_file.clone()))).await;
    let created = send(
        &trusting,
        &token,
        "/api/v1/audit/events",
        Some(&event_body("jwt-https")),
    )
    .await;
    assert_eq!(created.status(), 201);
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);

    let untrusting = spawn_app_with(Storage::Memory, configure(None)).await;
    assert_refused(
        &untrusting,
        &token,
        "an issuer whose certificate is not trusted",
    )
    .await;
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        1,
        "no request got past the TLS handshake"
    );
}
