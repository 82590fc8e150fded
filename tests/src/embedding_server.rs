//! A small OpenAI-compatible embeddings server (`POST /v1/embeddings`) for the HTTP embedder
//! tests: it serves the real local model, or misbehaves on purpose.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use datastorage_application::ports::Embedder;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Serves the local all-MiniLM-L6-v2.
    Real,
    /// Answers only after 5 s.
    Slow,
    /// Always 500.
    Fails,
    /// Vectors of 3 values.
    WrongDimension,
    /// A body that is not JSON.
    Malformed,
}

#[derive(Clone, Default)]
struct Shared {
    calls: Arc<AtomicU32>,
    /// When set, every request fails with 500 whatever the behaviour.
    down: Arc<AtomicBool>,
    /// Every input text received, in order.
    inputs: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct ServerState {
    behaviour: Behaviour,
    shared: Shared,
}

/// A running server: its base URL and how many requests it received.
pub struct EmbeddingServer {
    pub url: String,
    shared: Shared,
}

impl EmbeddingServer {
    pub fn calls(&self) -> u32 {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// From now on every request fails with 500 (`false`: serve again).
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Every input text received so far, in order.
    pub fn inputs(&self) -> Vec<String> {
        self.shared
            .inputs
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default()
    }
}

async fn embeddings(State(s): State<ServerState>, Json(body): Json<Value>) -> Response {
    s.shared.calls.fetch_add(1, Ordering::SeqCst);
    let inputs: Vec<String> = body["input"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Ok(mut all) = s.shared.inputs.lock() {
        all.extend(inputs.iter().cloned());
    }
    if s.shared.down.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    match s.behaviour {
        Behaviour::Fails => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Behaviour::Malformed => (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{not json",
        )
            .into_response(),
        Behaviour::WrongDimension => {
            let data: Vec<Value> = inputs
                .iter()
                .enumerate()
                .map(|(i, _)| json!({"index": i, "embedding": [0.1, 0.2, 0.3]}))
                .collect();
            Json(json!({"object": "list", "data": data, "model": body["model"]})).into_response()
        }
        Behaviour::Slow | Behaviour::Real => {
            if s.behaviour == Behaviour::Slow {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            match crate::support::local_embedder().embed(&inputs).await {
                Ok(vectors) => {
                    let data: Vec<Value> = vectors
                        .iter()
                        .enumerate()
                        .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v.values()}))
                        .collect();
                    Json(json!({"object": "list", "data": data, "model": body["model"]}))
                        .into_response()
                }
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
    }
}

/// The server's routes, and its count of requests received.
pub fn embeddings_router(behaviour: Behaviour) -> (Router, Arc<AtomicU32>) {
    let (app, shared) = router_with(behaviour);
    (app, shared.calls)
}

fn router_with(behaviour: Behaviour) -> (Router, Shared) {
    let shared = Shared::default();
    let app = Router::new()
        .route("/v1/embeddings", post(embeddings))
        .with_state(ServerState {
            behaviour,
            shared: shared.clone(),
        });
    (app, shared)
}

pub async fn spawn_embedding_server(behaviour: Behaviour) -> EmbeddingServer {
    let (app, shared) = router_with(behaviour);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    EmbeddingServer { url, shared }
}
