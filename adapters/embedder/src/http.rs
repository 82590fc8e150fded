//! An OpenAI-compatible embeddings client: `POST {base}/v1/embeddings` with
//! `{"model", "input": [...]}`, answered by `{"data": [{"index", "embedding"}]}`.
//! Bounded by a timeout per attempt and a few retries on transient failures.

use std::time::Duration;

use async_trait::async_trait;
use datastorage_application::ports::{EmbedError, EmbedRole, Embedder};
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
    /// Put before each search query (`query: ` for E5-style models); empty: none.
    pub query_prefix: String,
    /// Put before each workflow text (`passage: ` for E5-style models); empty: none.
    pub document_prefix: String,
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
        let id = EmbeddingModel::parse(model_id(&settings)).map_err(|e| EmbedError::BadAnswer {
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

/// The id stored with every vector: the model's name, and with prefixes a digest of them,
/// so vectors made with other prefixes count as another model's (and are re-embedded).
fn model_id(settings: &HttpEmbedderSettings) -> String {
    if settings.query_prefix.is_empty() && settings.document_prefix.is_empty() {
        return settings.model.clone();
    }
    let digest = datastorage_domain::sha256_hex(&format!(
        "{}\0{}",
        settings.query_prefix, settings.document_prefix
    ));
    format!("{}+prefixes-{}", settings.model, &digest[..12])
}

#[async_trait]
impl Embedder for HttpEmbedder {
    fn model(&self) -> &EmbeddingModel {
        &self.id
    }

    async fn embed_as(
        &self,
        role: EmbedRole,
        texts: &[String],
    ) -> Result<Vec<Embedding>, EmbedError> {
        let prefix = match role {
            EmbedRole::Query => &self.settings.query_prefix,
            EmbedRole::Document => &self.settings.document_prefix,
        };
        if prefix.is_empty() {
            return self.embed(texts).await;
        }
        let marked: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        self.embed(&marked).await
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
