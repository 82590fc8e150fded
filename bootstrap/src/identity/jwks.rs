//! The issuer's keys: fetched (from the configured JWKS URL, or the `jwks_uri` of the
//! issuer's OpenID discovery document), cached, and fetched again when stale or when a token
//! names a key not in the cache (how rotated keys are picked up), at most once per the
//! refetch interval so tokens with made-up `kid`s cannot make the service hammer the issuer.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::jwt::{self, Algorithm, Jwk, PublicKey};

/// Larger JWKS or discovery documents are refused.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct JwksSettings {
    pub issuer: String,
    /// Absent: discovered from the issuer.
    pub jwks_url: Option<String>,
    pub refetch_min: Duration,
    pub max_age: Duration,
    pub timeout: Duration,
    /// CAs trusted for https endpoints beyond the system's store.
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Default)]
struct Fetched {
    keys: Vec<Jwk>,
    /// When these keys were fetched; `None` before the first successful fetch.
    at: Option<Instant>,
    /// Bumped by every successful fetch, so a request that waited for another's fetch
    /// does not fetch again.
    generation: u64,
}

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("GET {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("{url}: {reason}")]
    Document { url: String, reason: String },
}

pub struct KeySource {
    settings: JwksSettings,
    client: reqwest::Client,
    keys: RwLock<Arc<Fetched>>,
    /// Held while fetching (one fetch at a time); holds when the last fetch was tried.
    last_try: tokio::sync::Mutex<Option<Instant>>,
}

impl KeySource {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: JwksSettings) -> Result<Self, String> {
        let client = crate::tls::http_client(settings.timeout, settings.ca_file.as_deref())?;
        Ok(Self {
            settings,
            client,
            keys: RwLock::new(Arc::new(Fetched::default())),
            last_try: tokio::sync::Mutex::new(None),
        })
    }

    fn current(&self) -> Arc<Fetched> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The key a token names, fetching the key set first when it is stale or lacks it.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Option<PublicKey> {
        let current = self.current();
        let fresh = current
            .at
            .is_some_and(|at| at.elapsed() < self.settings.max_age);
        if fresh && let Some(key) = jwt::pick(&current.keys, kid, alg) {
            return Some(key.clone());
        }
        self.refresh(current.generation).await;
        // After a failed or skipped fetch the keys held are still used.
        jwt::pick(&self.current().keys, kid, alg).cloned()
    }

    /// Fetches the key set unless another request did since `seen`, or the last try was
    /// less than the refetch interval ago.
    pub async fn refresh(&self, seen: u64) {
        let mut last_try = self.last_try.lock().await;
        if self.current().generation != seen {
            return;
        }
        if last_try.is_some_and(|at| at.elapsed() < self.settings.refetch_min) {
            return;
        }
        *last_try = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched the JWT issuer's keys");
                let mut held = self.keys.write().unwrap_or_else(|p| p.into_inner());
                let generation = held.generation + 1;
                *held = Arc::new(Fetched {
                    keys,
                    at: Some(Instant::now()),
                    generation,
                });
            }
            Err(e) => {
                metrics::counter!("datastorage_auth_jwks_fetch_failures_total").increment(1);
                tracing::error!(error = %e, "cannot fetch the JWT issuer's keys; keeping the keys held");
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<Jwk>, FetchError> {
        let url = match &self.settings.jwks_url {
            Some(url) => url.clone(),
            None => self.discover().await?,
        };
        let body = self.get(&url).await?;
        jwt::parse_jwks(&body).map_err(|reason| FetchError::Document { url, reason })
    }

    /// The `jwks_uri` of the issuer's discovery document, whose `issuer` must be ours.
    async fn discover(&self) -> Result<String, FetchError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let body = self.get(&url).await?;
        let invalid = |reason: &str| FetchError::Document {
            url: url.clone(),
            reason: reason.to_owned(),
        };
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| invalid("not JSON"))?;
        if doc.get("issuer").and_then(|i| i.as_str()) != Some(self.settings.issuer.as_str()) {
            return Err(invalid("its issuer is not the one configured"));
        }
        doc.get("jwks_uri")
            .and_then(|u| u.as_str())
            .map(str::to_owned)
            .ok_or_else(|| invalid("no jwks_uri"))
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let http = |source| FetchError::Http {
            url: url.to_owned(),
            source,
        };
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(http)?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::Document {
                    url: url.to_owned(),
                    reason: format!("larger than {MAX_DOCUMENT_BYTES} bytes"),
                });
            }
        }
        Ok(body)
    }
}
