//! Settings of the embedder and its cache.

use clap::{Args, ValueEnum};

use crate::secret::SecretUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbedderKind {
    /// all-MiniLM-L6-v2 in process, from --model-dir (scripts/fetch-model.sh fetches it).
    Local,
    /// An OpenAI-compatible server at EMBEDDER_URL.
    Http,
    /// No embedder: a query is ranked by labels and words only (refused with
    /// DS_SEARCH__WHEN_EMBEDDER_DOWN=refuse).
    None,
}

#[derive(Debug, Clone, Args)]
pub struct EmbedderSettings {
    /// The embedder; EMBEDDER_URL, when set, selects `http`.
    #[arg(id = "embedder",
        value_name = "EMBEDDER", long = "embedder", env = "DS_EMBEDDER__KIND", value_enum, default_value_t = EmbedderKind::Local)]
    pub kind: EmbedderKind,

    /// Base URL of an OpenAI-compatible embeddings server (POST /v1/embeddings).
    #[arg(
        id = "embedder_url",
        value_name = "EMBEDDER_URL",
        long = "embedder-url",
        env = "EMBEDDER_URL"
    )]
    pub url: Option<SecretUrl>,

    /// Model name sent to the HTTP embedder (and stored with every vector).
    #[arg(
        id = "embedder_model",
        value_name = "EMBEDDER_MODEL",
        long = "embedder-model",
        env = "DS_EMBEDDER__MODEL",
        default_value = "sentence-transformers/all-MiniLM-L6-v2"
    )]
    pub model: String,

    /// Dimension every HTTP embedder answer must have.
    #[arg(
        id = "embedder_dimension",
        value_name = "EMBEDDER_DIMENSION",
        long = "embedder-dimension",
        env = "DS_EMBEDDER__DIMENSION",
        default_value_t = 384
    )]
    pub dimension: usize,

    /// Milliseconds one HTTP embedder attempt may take.
    #[arg(
        id = "embedder_timeout_ms",
        value_name = "EMBEDDER_TIMEOUT_MS",
        long = "embedder-timeout-ms",
        env = "DS_EMBEDDER__TIMEOUT_MS",
        default_value_t = 2000
    )]
    pub timeout_ms: u64,

    /// HTTP embedder attempts (transient failures are retried).
    #[arg(
        id = "embedder_attempts",
        value_name = "EMBEDDER_ATTEMPTS",
        long = "embedder-attempts",
        env = "DS_EMBEDDER__ATTEMPTS",
        default_value_t = 3
    )]
    pub attempts: u32,

    /// PEM file of the certificate authorities trusted for an `https` EMBEDDER_URL, beyond
    /// the system's store.
    #[arg(
        id = "embedder_ca_file",
        value_name = "EMBEDDER_CA_FILE",
        long = "embedder-ca-file",
        env = "DS_EMBEDDER__CA_FILE"
    )]
    pub ca_file: Option<std::path::PathBuf>,

    /// Text put before every search query sent to the HTTP embedder, for instruction-tuned
    /// models (`query: ` for E5, a query instruction for BGE). A change re-embeds the
    /// catalog, as a model change does.
    #[arg(
        id = "embedder_query_prefix",
        value_name = "EMBEDDER_QUERY_PREFIX",
        long = "embedder-query-prefix",
        env = "DS_EMBEDDER__QUERY_PREFIX",
        default_value = ""
    )]
    pub query_prefix: String,

    /// Text put before every workflow text sent to the HTTP embedder (`passage: ` for E5).
    /// A change re-embeds the catalog.
    #[arg(
        id = "embedder_document_prefix",
        value_name = "EMBEDDER_DOCUMENT_PREFIX",
        long = "embedder-document-prefix",
        env = "DS_EMBEDDER__DOCUMENT_PREFIX",
        default_value = ""
    )]
    pub document_prefix: String,
}

#[derive(Debug, Clone, Args)]
pub struct ModelSettings {
    /// Directory of the local model (model.safetensors, tokenizer.json, config.json).
    #[arg(
        id = "model_dir",
        value_name = "MODEL_DIR",
        long = "model-dir",
        env = "DS_MODEL_DIR",
        default_value = ".models/all-minilm-l6-v2"
    )]
    pub dir: std::path::PathBuf,

    /// Seconds the local model stays in memory after its last use (it is loaded again, in
    /// about a tenth of a second, by the next embedding); 0 keeps it loaded.
    #[arg(
        id = "model_keep_alive_secs",
        value_name = "MODEL_KEEP_ALIVE_SECS",
        long = "model-keep-alive-secs",
        env = "DS_MODEL_KEEP_ALIVE_SECS",
        default_value_t = 300
    )]
    pub keep_alive_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct EmbeddingCacheSettings {
    /// Seconds a cached embedding lives.
    #[arg(
        id = "embedding_cache_ttl_secs",
        value_name = "EMBEDDING_CACHE_TTL_SECS",
        long = "embedding-cache-ttl-secs",
        env = "DS_EMBEDDING_CACHE__TTL_SECS",
        default_value_t = 86_400
    )]
    pub ttl_secs: u64,

    /// Entries of the in-memory embedding cache (used when REDIS_URL is not set).
    #[arg(
        id = "embedding_cache_capacity",
        value_name = "EMBEDDING_CACHE_CAPACITY",
        long = "embedding-cache-capacity",
        env = "DS_EMBEDDING_CACHE__CAPACITY",
        default_value_t = 10_000
    )]
    pub capacity: usize,
}
