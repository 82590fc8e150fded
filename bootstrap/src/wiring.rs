//! Building the pieces the settings choose that are not storage: the embedder behind its
//! cache (the credentials are in [`crate::identity`]).

use std::sync::Arc;
use std::time::Duration;

use datastorage_application::catalog::{SearchSettings, WhenEmbedderDown};
use datastorage_application::embedding::CachedEmbedder;
use datastorage_application::ports::{Embedder, EmbeddingCache};

use datastorage_domain::workflow::FusionWeights;

use crate::StartupError;
use crate::settings::{EmbedderKind, Settings};

/// The embedder behind its cache, as the settings ask.
pub(crate) fn build_embedder(
    settings: &Settings,
) -> Result<Option<Arc<CachedEmbedder>>, StartupError> {
    let kind = if settings.embedder.url.is_some() {
        EmbedderKind::Http
    } else {
        settings.embedder.kind
    };
    let inner: Arc<dyn Embedder> = match kind {
        EmbedderKind::None => return Ok(None),
        EmbedderKind::Local => local_embedder(settings)?,
        EmbedderKind::Http => Arc::new(
            datastorage_embedder::HttpEmbedder::new(
                datastorage_embedder::HttpEmbedderSettings {
                    url: settings
                        .embedder
                        .url
                        .as_ref()
                        .map(|u| u.expose().to_owned())
                        .unwrap_or_default(),
                    model: settings.embedder.model.clone(),
                    dimension: settings.embedder.dimension,
                    attempts: settings.embedder.attempts,
                    query_prefix: settings.embedder.query_prefix.clone(),
                    document_prefix: settings.embedder.document_prefix.clone(),
                },
                crate::tls::http_client(
                    Duration::from_millis(settings.embedder.timeout_ms),
                    settings.embedder.ca_file.as_deref(),
                )
                .map_err(StartupError::Embedder)?,
            )
            .map_err(|e| StartupError::Embedder(e.to_string()))?,
        ),
    };
    let cache: Arc<dyn EmbeddingCache> = match settings.redis.endpoint() {
        Some(endpoint) => Arc::new(
            datastorage_redis::RedisEmbeddingCache::new(&endpoint, &settings.redis.key_prefix)
                .map_err(|e| StartupError::Embedder(e.to_string()))?,
        ),
        None => Arc::new(datastorage_memory::MemoryEmbeddingCache::new(
            settings.embedding_cache.capacity,
        )),
    };
    Ok(Some(Arc::new(CachedEmbedder::new(
        inner,
        cache,
        Duration::from_secs(settings.embedding_cache.ttl_secs),
    ))))
}

/// The fusion weights and the embedder-down behaviour, as the settings ask.
pub(crate) fn search_settings(settings: &Settings) -> Result<SearchSettings, StartupError> {
    let s = &settings.search;
    let weights = FusionWeights::new(s.lexical_weight, s.label_weight).map_err(|reason| {
        StartupError::Setting {
            key: if (0.0..=1.0).contains(&s.lexical_weight) {
                "DS_SEARCH__LABEL_WEIGHT"
            } else {
                "DS_SEARCH__LEXICAL_WEIGHT"
            },
            reason,
        }
    })?;
    Ok(SearchSettings {
        weights,
        when_embedder_down: match s.when_embedder_down {
            crate::settings::WhenEmbedderDown::Degrade => WhenEmbedderDown::Degrade,
            crate::settings::WhenEmbedderDown::Refuse => WhenEmbedderDown::Refuse,
        },
    })
}

/// The in-process model, loaded from DS_MODEL_DIR.
#[cfg(feature = "local-embedder")]
fn local_embedder(settings: &Settings) -> Result<Arc<dyn Embedder>, StartupError> {
    Ok(Arc::new(
        datastorage_embedder::LocalModelEmbedder::load_with_keep_alive(
            &settings.model.dir,
            (settings.model.keep_alive_secs > 0).then_some(datastorage_embedder::KeepAlive {
                idle: Duration::from_secs(settings.model.keep_alive_secs),
                release_memory: crate::memory::release_freed_memory,
            }),
        )
        .map_err(|e| StartupError::Embedder(e.to_string()))?,
    ))
}

/// A build without the model refuses to start rather than serve without the search the
/// settings asked for.
#[cfg(not(feature = "local-embedder"))]
fn local_embedder(_settings: &Settings) -> Result<Arc<dyn Embedder>, StartupError> {
    Err(StartupError::Setting {
        key: "DS_EMBEDDER__KIND",
        reason: "is `local`, but this binary was built without the local embedder (cargo \
                 feature `local-embedder`): set DS_EMBEDDER__KIND=http with EMBEDDER_URL, or \
                 DS_EMBEDDER__KIND=none"
            .into(),
    })
}
