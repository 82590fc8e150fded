//! An OpenAI-compatible embeddings client: `POST {base}/v1/embeddings` with
//! `{"model", "input": [...]}`, answered by `{"data": [{"index", "embedding"}]}`.
//! Bounded by a timeout per attempt and a few retries on transient failures.

use std::time::Duration;

use async_trait::async_trait;
use datastorage_application::ports::{EmbedError, Embedder};
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct HttpEmbedderSettings {
    /// Base URL, e.g. `http://embedder:8080` (the path `/v1/embeddings` is appended).
    pub url: String,
    /// The model name sent to the server; also the id stored with every vector.
    pub model: String,
    /// The dimension every answer must have.
    pub dimension: usize,
    /// Attempts in all (transient failures only: connection errors, timeouts, 5xx, 429).
    pub attempts: u32,
}

pub struct HttpEmbedder {
    client: reqwest::Client,
    endpoint: String,
    settings: HttpEmbedderSettings,
    id: EmbeddingModel,
}

#[derive(Deserialize)]
struct Reply {
    data: Vec<Datum>,
}

#[derive(Deserialize)]
struct Datum {
    index: usize,
    embedding: Vec<f32>,
}

enum Failure {
    Transient(String),
    Bad(String),
}

impl HttpEmbedder {
    /// `client` carries the per-attempt timeout and the TLS trust (the process builds every
    /// outbound HTTP client one way: `datastorage::tls::http_client`).
    ///
    /// # Errors
    /// When the model name is not a valid model id.
    pub fn new(
        settings: HttpEmbedderSettings,
        client: reqwest::Client,
    ) -> Result<Self, EmbedError> {
        let id =
            EmbeddingModel::parse(settings.model.clone()).map_err(|e| EmbedError::BadAnswer {
                embedder: settings.url.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            client,
            endpoint: format!("{}/v1/embeddings", settings.url.trim_end_matches('/')),
            settings,
            id,
        })
    }

    async fn attempt(&self, texts: &[String]) -> Result<Vec<Embedding>, Failure> {
        let response = self
            .client
            .post(&self.endpoint)
            .json(&json!({"model": self.settings.model, "input": texts}))
            .send()
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(Failure::Transient(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(Failure::Bad(format!("HTTP {status}")));
        }
        let reply: Reply = response
            .json()
            .await
            .map_err(|e| Failure::Bad(format!("malformed reply: {e}")))?;
        if reply.data.len() != texts.len() {
            return Err(Failure::Bad(format!(
                "{} vectors for {} texts",
                reply.data.len(),
                texts.len()
            )));
        }
        let mut data = reply.data;
        data.sort_by_key(|d| d.index);
        data.into_iter()
            .enumerate()
            .map(|(i, d)| {
                if d.index != i {
                    return Err(Failure::Bad("indexes do not cover the input".into()));
                }
                if d.embedding.len() != self.settings.dimension {
                    return Err(Failure::Bad(format!(
                        "dimension {} instead of {}",
                        d.embedding.len(),
                        self.settings.dimension
                    )));
                }
                Embedding::new(self.id.clone(), d.embedding)
                    .map_err(|e| Failure::Bad(e.to_string()))
            })
            .collect()
    }
}

#[async_trait]
impl Embedder for HttpEmbedder {
    fn model(&self) -> &EmbeddingModel {
        &self.id
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Embedding>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut last = String::new();
        for attempt in 0..self.settings.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
            }
            match self.attempt(texts).await {
                Ok(v) => return Ok(v),
                Err(Failure::Bad(reason)) => {
                    return Err(EmbedError::BadAnswer {
                        embedder: self.settings.url.clone(),
                        reason,
                    });
                }
                Err(Failure::Transient(reason)) => last = reason,
            }
        }
        Err(EmbedError::Unavailable {
            embedder: self.settings.url.clone(),
            reason: last,
        })
    }
}
