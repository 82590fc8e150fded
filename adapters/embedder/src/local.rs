//! all-MiniLM-L6-v2 in process (candle BERT, CPU).
//!
//! The model is most of the service's memory, so it can be unloaded after a while without
//! use and loaded again by the next embedding (quick, from the page cache), as model servers
//! do with a keep-alive.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::weights::FileWeights;
use candle_nn::Module;
use candle_transformers::models::bert::{BertEncoder, Config};
use datastorage_application::ports::{EmbedError, Embedder};
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The model id stored beside every vector it makes.
pub const MINILM_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Longest input, in tokens (the model was trained on 256; longer text is truncated).
const MAX_TOKENS: usize = 256;

struct Loaded {
    embeddings: Embeddings,
    encoder: BertEncoder,
    tokenizer: Tokenizer,
    device: Device,
}

/// BERT's input layer, with the word table left in the file: a text uses a few dozen of its
/// rows, and loaded it is half the model's memory. Same arithmetic as
/// candle's `BertEmbeddings` (word + token type, + position, then layer norm).
struct Embeddings {
    words: FileWeights,
    positions: Tensor,
    token_types: Tensor,
    norm: candle_nn::LayerNorm,
}

const WORD_TABLE: &str = "embeddings.word_embeddings.weight";

impl Embeddings {
    fn load(words: FileWeights, vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let hidden = config.hidden_size;
        Ok(Self {
            words,
            positions: vb.get(
                (config.max_position_embeddings, hidden),
                "position_embeddings.weight",
            )?,
            token_types: vb.get(
                (config.type_vocab_size, hidden),
                "token_type_embeddings.weight",
            )?,
            norm: candle_nn::layer_norm(hidden, config.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    /// `ids` and `type_ids` are `rows` texts of `width` tokens each, row after row.
    fn forward(
        &self,
        ids: &[u32],
        type_ids: &Tensor,
        (rows, width): (usize, usize),
    ) -> candle_core::Result<Tensor> {
        let hidden = self.positions.dim(1)?;
        let words = self
            .words
            .rows(WORD_TABLE, ids, self.positions.device())?
            .reshape((rows, width, hidden))?;
        let types = self
            .token_types
            .index_select(&type_ids.flatten_all()?, 0)?
            .reshape((rows, width, hidden))?;
        let positions = self.positions.narrow(0, 0, width)?;
        let summed = (words + types)?.broadcast_add(&positions)?;
        self.norm.forward(&summed)
    }
}

/// The local sentence-embedding model. Cheap to clone; inference runs on the blocking pool.
#[derive(Clone)]
pub struct LocalModelEmbedder {
    inner: Arc<Inner>,
    id: EmbeddingModel,
}

/// When an unused model is unloaded.
#[derive(Debug, Clone, Copy)]
pub struct KeepAlive {
    /// How long the model stays loaded after its last use.
    pub idle: Duration,
    /// Called after the model is unloaded, and on the inference thread after each embedding:
    /// lets the process hand the memory back to the operating system (an allocator keeps
    /// freed memory for reuse, per thread, so an inference's buffers would otherwise stay).
    pub release_memory: fn(),
}

struct Inner {
    dir: PathBuf,
    /// `None`: loaded for the process lifetime.
    keep_alive: Option<KeepAlive>,
    /// The loaded model, if it is. Locked while loading, so concurrent callers load it once.
    /// An embedding in progress holds its own `Arc`, so unloading never cuts one short.
    slot: tokio::sync::Mutex<Option<Arc<Loaded>>>,
    last_used: std::sync::Mutex<tokio::time::Instant>,
    /// Whether the task that unloads an idle model is running.
    reaper: AtomicBool,
    /// Inferences running at once: one per core. Inference is CPU-bound, so more at once
    /// only adds memory (each blocking thread grows its own buffers).
    running: tokio::sync::Semaphore,
}

fn load_error(what: &str, e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Unavailable {
        embedder: "local model".into(),
        reason: format!("{what}: {e}"),
    }
}

impl LocalModelEmbedder {
    /// Loads `model.safetensors`, `tokenizer.json` and `config.json` from `dir` and keeps the
    /// model loaded for the process lifetime.
    ///
    /// # Errors
    /// When a file is missing or malformed (the message names it and how to fetch it).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        Self::load_with_keep_alive(dir, None)
    }

    /// Loads the model once to check it, then keeps it loaded only while it is used: it is
    /// unloaded `keep_alive.idle` after the last embedding (`None`: never).
    ///
    /// # Errors
    /// As [`Self::load`].
    pub fn load_with_keep_alive(
        dir: &Path,
        keep_alive: Option<KeepAlive>,
    ) -> Result<Self, EmbedError> {
        let loaded = Self::read_model(dir)?;
        let slot = match keep_alive {
            None => Some(Arc::new(loaded)),
            Some(k) => {
                drop(loaded);
                (k.release_memory)();
                None
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                keep_alive,
                slot: tokio::sync::Mutex::new(slot),
                last_used: std::sync::Mutex::new(tokio::time::Instant::now()),
                reaper: AtomicBool::new(false),
                running: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(1, usize::from),
                ),
            }),
            id: EmbeddingModel::parse(MINILM_MODEL_ID).map_err(|e| load_error("model id", e))?,
        })
    }

    /// Whether the model is in memory now (also while it is being loaded or unloaded).
    pub fn is_loaded(&self) -> bool {
        self.inner
            .slot
            .try_lock()
            .map_or(true, |slot| slot.is_some())
    }

    fn read_model(dir: &Path) -> Result<Loaded, EmbedError> {
        let unreadable = |name: &str, e: &dyn std::fmt::Display| {
            load_error(
                &format!(
                    "cannot read {} (run scripts/fetch-model.sh)",
                    dir.join(name).display()
                ),
                e,
            )
        };
        let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| unreadable(name, &e));
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| load_error("config.json", e))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| load_error("tokenizer.json", e))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| load_error("tokenizer truncation", e))?;
        let device = Device::Cpu;
        let weights = FileWeights::open(&dir.join("model.safetensors"))
            .map_err(|e| unreadable("model.safetensors", &e))?;
        // The encoder's tensors are read into memory; the word table is read row by row.
        let words = weights.clone();
        let vb = VarBuilder::from_backend(Box::new(weights), DType::F32, device.clone());
        let embeddings = Embeddings::load(words, vb.pp("embeddings"), &config)
            .map_err(|e| load_error("BERT embeddings", e))?;
        let encoder = BertEncoder::load(vb.pp("encoder"), &config)
            .map_err(|e| load_error("BERT weights", e))?;
        Ok(Loaded {
            embeddings,
            encoder,
            tokenizer,
            device,
        })
    }

    /// The loaded model, loading it if it is not; marks it used now.
    async fn acquire(&self) -> Result<Arc<Loaded>, EmbedError> {
        let mut slot = self.inner.slot.lock().await;
        let loaded = match slot.as_ref() {
            Some(loaded) => loaded.clone(),
            None => {
                let dir = self.inner.dir.clone();
                let started = std::time::Instant::now();
                let loaded = tokio::task::spawn_blocking(move || Self::read_model(&dir))
                    .await
                    .map_err(|e| load_error("model loading task", e))??;
                tracing::info!(
                    millis = started.elapsed().as_millis() as u64,
                    "local embedding model loaded"
                );
                let loaded = Arc::new(loaded);
                *slot = Some(loaded.clone());
                loaded
            }
        };
        self.touch();
        Ok(loaded)
    }

    fn touch(&self) {
        if let Ok(mut last) = self.inner.last_used.lock() {
            *last = tokio::time::Instant::now();
        }
        if let Some(keep_alive) = self.inner.keep_alive
            && !self.inner.reaper.swap(true, Ordering::AcqRel)
        {
            tokio::spawn(unload_when_idle(self.inner.clone(), keep_alive));
        }
    }

    /// Mean of the token vectors over the attention mask, L2-normalised: the
    /// sentence-transformers pooling of this model.
    fn embed_blocking(loaded: &Loaded, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let encodings = loaded
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| format!("tokenizer: {e}"))?;
        let rows = encodings.len();
        let width = encodings.first().map_or(0, |e| e.get_ids().len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> Vec<u32>| -> Vec<u32> {
            encodings.iter().flat_map(f).collect()
        };
        let tensor = |data: Vec<u32>| {
            Tensor::from_vec(data, (rows, width), &loaded.device).map_err(|e| e.to_string())
        };
        let ids = flat(&|e| e.get_ids().to_vec());
        let type_ids = tensor(flat(&|e| e.get_type_ids().to_vec()))?;
        let mask = tensor(flat(&|e| e.get_attention_mask().to_vec()))?;
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let input = loaded.embeddings.forward(&ids, &type_ids, (rows, width))?;
            let mask = mask.to_dtype(DType::F32)?;
            // Padding positions get the most negative score, so softmax gives them nothing
            // (as BERT's extended attention mask: (1 - mask) * dtype minimum).
            let padding = mask
                .unsqueeze(1)?
                .unsqueeze(1)?
                .affine(-1.0, 1.0)?
                .affine(f64::from(f32::MIN), 0.0)?;
            let hidden = loaded.encoder.forward(&input, &padding)?;
            let mask = mask.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
            let mean = summed.broadcast_div(&counts)?;
            let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
            mean.broadcast_div(&norms)?.to_vec2::<f32>()
        };
        run().map_err(|e| format!("inference: {e}"))
    }
}

#[async_trait]
impl Embedder for LocalModelEmbedder {
    fn model(&self) -> &EmbeddingModel {
        &self.id
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Embedding>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let _turn = self
            .inner
            .running
            .acquire()
            .await
            .map_err(|e| load_error("inference queue", e))?;
        let loaded = self.acquire().await?;
        let batch = texts.to_vec();
        let release = self.inner.keep_alive.map(|k| k.release_memory);
        let vectors = tokio::task::spawn_blocking(move || {
            let vectors = Self::embed_blocking(&loaded, &batch);
            if let Some(release) = release {
                release();
            }
            vectors
        })
        .await
        .map_err(|e| load_error("inference task", e))?
        .map_err(|e| load_error("inference", e))?;
        self.touch();
        vectors
            .into_iter()
            .map(|v| {
                Embedding::new(self.id.clone(), v).map_err(|e| EmbedError::BadAnswer {
                    embedder: "local model".into(),
                    reason: e.to_string(),
                })
            })
            .collect()
    }
}

/// Unloads the model once it has gone `keep_alive.idle` without use, then ends.
async fn unload_when_idle(inner: Arc<Inner>, keep_alive: KeepAlive) {
    loop {
        let last = inner
            .last_used
            .lock()
            .map_or_else(|_| tokio::time::Instant::now(), |l| *l);
        tokio::time::sleep_until(last + keep_alive.idle).await;
        let mut slot = inner.slot.lock().await;
        let idle = inner
            .last_used
            .lock()
            .is_ok_and(|l| l.elapsed() >= keep_alive.idle);
        if idle {
            // Cleared under the slot lock: a caller that marks it used after this loads
            // again and starts a new reaper.
            inner.reaper.store(false, Ordering::Release);
            if let Some(loaded) = slot.take() {
                drop(slot);
                // An embedding still running holds its own reference: the memory goes when
                // it ends, and is handed back by the next unload at the latest.
                drop(loaded);
                (keep_alive.release_memory)();
                tracing::info!(
                    idle_secs = keep_alive.idle.as_secs(),
                    "local embedding model unloaded after going unused"
                );
            }
            return;
        }
    }
}
