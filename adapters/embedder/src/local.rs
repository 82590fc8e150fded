//! all-MiniLM-L6-v2 in process (candle BERT, CPU).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::weights::FileWeights;
use candle_transformers::models::bert::{BertModel, Config};
use datastorage_application::ports::{EmbedError, Embedder};
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The model id stored beside every vector it makes.
pub const MINILM_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Longest input, in tokens (the model was trained on 256; longer text is truncated).
const MAX_TOKENS: usize = 256;

struct Loaded {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

/// The local sentence-embedding model. Cheap to clone; inference runs on the blocking pool.
#[derive(Clone)]
pub struct LocalModelEmbedder {
    loaded: Arc<Loaded>,
    id: EmbeddingModel,
}

fn load_error(what: &str, e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Unavailable {
        embedder: "local model".into(),
        reason: format!("{what}: {e}"),
    }
}

impl LocalModelEmbedder {
    /// Loads `model.safetensors`, `tokenizer.json` and `config.json` from `dir`.
    ///
    /// # Errors
    /// When a file is missing or malformed (the message names it and how to fetch it).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                load_error(
                    &format!(
                        "cannot read {} (run scripts/fetch-model.sh)",
                        dir.join(name).display()
                    ),
                    e,
                )
            })
        };
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
        let weights = FileWeights::open(&dir.join("model.safetensors")).map_err(|e| {
            load_error(
                &format!(
                    "cannot read {} (run scripts/fetch-model.sh)",
                    dir.join("model.safetensors").display()
                ),
                e,
            )
        })?;
        let vb = VarBuilder::from_backend(Box::new(weights), DType::F32, device.clone());
        let model = BertModel::load(vb, &config).map_err(|e| load_error("BERT weights", e))?;
        Ok(Self {
            loaded: Arc::new(Loaded {
                model,
                tokenizer,
                device,
            }),
            id: EmbeddingModel::parse(MINILM_MODEL_ID).map_err(|e| load_error("model id", e))?,
        })
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
        let ids = tensor(flat(&|e| e.get_ids().to_vec()))?;
        let type_ids = tensor(flat(&|e| e.get_type_ids().to_vec()))?;
        let mask = tensor(flat(&|e| e.get_attention_mask().to_vec()))?;
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let hidden = loaded.model.forward(&ids, &type_ids, Some(&mask))?;
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
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
        let loaded = self.loaded.clone();
        let batch = texts.to_vec();
        let vectors = tokio::task::spawn_blocking(move || Self::embed_blocking(&loaded, &batch))
            .await
            .map_err(|e| load_error("inference task", e))?
            .map_err(|e| load_error("inference", e))?;
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
