//! The embedding cache as a decorator: any [`Embedder`] wrapped by [`CachedEmbedder`] looks
//! in the cache first (key: model + SHA-256 of the text), embeds only the misses in one call,
//! and stores them. The cache is an optimisation: when it is down, embedding still works.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use datastorage_domain::sha256_hex;
use datastorage_domain::workflow::WorkflowId;

use crate::ports::{CacheKey, EmbedError, EmbedRole, Embedder, EmbeddingCache};

pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    cache: Arc<dyn EmbeddingCache>,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Hit and miss counts since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
}

impl CachedEmbedder {
    pub fn new(inner: Arc<dyn Embedder>, cache: Arc<dyn EmbeddingCache>, ttl: Duration) -> Self {
        Self {
            inner,
            cache,
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn counts(&self) -> CacheCounts {
        CacheCounts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    pub fn cache(&self) -> &Arc<dyn EmbeddingCache> {
        &self.cache
    }

    /// Embeds texts, each tagged with the workflow it belongs to (if any).
    pub async fn embed_tagged(
        &self,
        texts: &[(String, Option<WorkflowId>)],
    ) -> Result<Vec<Embedding>, EmbedError> {
        let keys: Vec<CacheKey> = texts
            .iter()
            .map(|(t, w)| CacheKey {
                model: self.inner.model().clone(),
                text_sha256: sha256_hex(t),
                workflow: *w,
            })
            .collect();
        let mut found: Vec<Option<Embedding>> = Vec::with_capacity(texts.len());
        for key in &keys {
            match self.cache.get(key).await {
                Ok(hit) => found.push(hit),
                Err(e) => {
                    tracing::warn!(error = %e, "embedding cache unavailable; embedding without it");
                    found.push(None);
                }
            }
        }
        let missing: Vec<usize> = (0..texts.len()).filter(|i| found[*i].is_none()).collect();
        let (hits, misses) = ((texts.len() - missing.len()) as u64, missing.len() as u64);
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(misses, Ordering::Relaxed);
        metrics::counter!("datastorage_embedding_cache_hits_total").increment(hits);
        metrics::counter!("datastorage_embedding_cache_misses_total").increment(misses);
        // A workflow's text is a document; an untagged one a search query.
        for role in [EmbedRole::Document, EmbedRole::Query] {
            let of_role: Vec<usize> = missing
                .iter()
                .copied()
                .filter(|&i| (texts[i].1.is_some()) == (role == EmbedRole::Document))
                .collect();
            if of_role.is_empty() {
                continue;
            }
            let batch: Vec<String> = of_role.iter().map(|&i| texts[i].0.clone()).collect();
            let fresh = self.inner.embed_as(role, &batch).await?;
            for (&i, embedding) in of_role.iter().zip(fresh) {
                if let Err(e) = self.cache.put(&keys[i], &embedding, self.ttl).await {
                    tracing::warn!(error = %e, "embedding cache unavailable; not caching");
                }
                found[i] = Some(embedding);
            }
        }
        found
            .into_iter()
            .map(|e| {
                e.ok_or_else(|| EmbedError::BadAnswer {
                    embedder: self.inner.model().to_string(),
                    reason: "fewer embeddings than texts".into(),
                })
            })
            .collect()
    }
}

#[async_trait]
impl Embedder for CachedEmbedder {
    fn model(&self) -> &EmbeddingModel {
        self.inner.model()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Embedding>, EmbedError> {
        let tagged: Vec<(String, Option<WorkflowId>)> =
            texts.iter().map(|t| (t.clone(), None)).collect();
        self.embed_tagged(&tagged).await
    }
}
