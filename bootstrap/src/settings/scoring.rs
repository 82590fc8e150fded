//! Settings of workflow search scoring: the fusion weights and what a search does when the
//! embedder is down (issue 28; the formula is in `domain::workflow::fusion`).

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhenEmbedderDown {
    /// Answer from labels and lexical evidence; the response's `missing_evidence` says so.
    Degrade,
    /// Refuse the search with 503 `embedder-unavailable` (400 without an embedder).
    Refuse,
}

#[derive(Debug, Clone, Args)]
pub struct SearchScoringSettings {
    /// Share of the text evidence given to lexical relevance (BM25), 0-1; the rest goes to
    /// semantic similarity. The default was chosen by cross-validation (docs/benchmarks.md).
    #[arg(
        id = "search_lexical_weight",
        value_name = "SEARCH_LEXICAL_WEIGHT",
        long = "search-lexical-weight",
        env = "DS_SEARCH__LEXICAL_WEIGHT",
        default_value_t = datastorage_domain::workflow::FusionWeights::DEFAULT.lexical
    )]
    pub lexical_weight: f64,

    /// Multiplier of the label boost minus penalty in a search with `query`, 0-4.
    #[arg(
        id = "search_label_weight",
        value_name = "SEARCH_LABEL_WEIGHT",
        long = "search-label-weight",
        env = "DS_SEARCH__LABEL_WEIGHT",
        default_value_t = datastorage_domain::workflow::FusionWeights::DEFAULT.labels
    )]
    pub label_weight: f64,

    /// What a search with `query` does when the query cannot be embedded.
    #[arg(
        id = "search_when_embedder_down",
        value_name = "SEARCH_WHEN_EMBEDDER_DOWN",
        long = "search-when-embedder-down",
        env = "DS_SEARCH__WHEN_EMBEDDER_DOWN",
        value_enum,
        default_value_t = WhenEmbedderDown::Degrade
    )]
    pub when_embedder_down: WhenEmbedderDown,
}
