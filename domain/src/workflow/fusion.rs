//! How a search's evidence becomes one `final_score` (DESIGN.md §5, issue 28).
//!
//! ```text
//! text  = (1 − lexical_weight) × semantic_similarity + lexical_weight × lexical_score
//! final = clamp(text + label_weight × (boost − penalty), 0, 1)
//! ```
//!
//! `lexical_score` is BM25 over the hard-filtered candidates divided by the best candidate's
//! ([`super::lexical`]), so both text signals are on the same [0, 1] scale and the text part
//! stays in [0, 1]. When one text signal is missing (the embedder is down) its weight falls
//! on the other. With `lexical_weight = 0` and `label_weight = 1` this is the original
//! contract's hybrid score, `min(1, similarity + boost − penalty)`.

use super::scoring::LabelScore;

/// The weights of [`fuse`]; settings, chosen by cross-validation (docs/benchmarks.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionWeights {
    /// The lexical share of the text evidence, in [0, 1]; the rest is semantic.
    pub lexical: f64,
    /// The multiplier of `boost − penalty`, in [0, 4].
    pub labels: f64,
}

impl FusionWeights {
    /// Chosen by leave-one-signal-type-out cross-validation on `eval/retrieval/`.
    pub const DEFAULT: Self = Self {
        lexical: 0.7,
        labels: 4.0,
    };

    /// The original contract's hybrid score: no lexical evidence, labels at face value.
    pub const SEMANTIC_AND_LABELS: Self = Self {
        lexical: 0.0,
        labels: 1.0,
    };

    /// # Errors
    /// A message naming the weight out of its range.
    pub fn new(lexical: f64, labels: f64) -> Result<Self, String> {
        if !(0.0..=1.0).contains(&lexical) {
            return Err(format!(
                "the lexical weight must be in [0, 1], not {lexical}"
            ));
        }
        if !(0.0..=4.0).contains(&labels) {
            return Err(format!("the label weight must be in [0, 4], not {labels}"));
        }
        Ok(Self { lexical, labels })
    }
}

impl Default for FusionWeights {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One result's evidence and each part's share of its `final_score`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fused {
    /// The semantic part of the score (0 without semantic evidence).
    pub semantic: f64,
    /// The lexical part of the score (0 without lexical evidence).
    pub lexical: f64,
    /// `label_weight × (boost − penalty)`.
    pub labels: f64,
    /// `clamp(semantic + lexical + labels, 0, 1)`.
    pub final_score: f64,
}

/// The hybrid score of one candidate. `similarity` is `None` when there is no semantic
/// evidence (no embedder, or it is down) and `lexical` is `None` when there is no lexical
/// evidence; with neither, the text part is 0.
pub fn fuse(
    weights: FusionWeights,
    labels: LabelScore,
    similarity: Option<f64>,
    lexical: Option<f64>,
) -> Fused {
    let (semantic_share, lexical_share) = match (similarity, lexical) {
        (Some(_), Some(_)) => (1.0 - weights.lexical, weights.lexical),
        (Some(_), None) => (1.0, 0.0),
        (None, Some(_)) => (0.0, 1.0),
        (None, None) => (0.0, 0.0),
    };
    let semantic = semantic_share * similarity.unwrap_or(0.0);
    let lexical = lexical_share * lexical.unwrap_or(0.0);
    let labels = weights.labels * (labels.boost() - labels.penalty());
    Fused {
        semantic,
        lexical,
        labels,
        final_score: (semantic + lexical + labels).clamp(0.0, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: LabelScore = LabelScore {
        boost: 0,
        penalty: 0,
    };

    #[test]
    fn without_lexical_weight_it_is_the_original_hybrid_score() {
        let s = LabelScore {
            boost: 1500,
            penalty: 1000,
        };
        for sim in [-0.3, 0.0, 0.42, 0.97] {
            let fused = fuse(FusionWeights::SEMANTIC_AND_LABELS, s, Some(sim), Some(0.8));
            assert!((fused.final_score - s.hybrid(sim)).abs() < 1e-12);
        }
    }

    #[test]
    fn the_parts_add_up_to_the_final_score() {
        let s = LabelScore {
            boost: 500,
            penalty: 0,
        };
        let f = fuse(
            FusionWeights::new(0.25, 2.0).unwrap(),
            s,
            Some(0.6),
            Some(1.0),
        );
        assert!((f.semantic - 0.45).abs() < 1e-12);
        assert!((f.lexical - 0.25).abs() < 1e-12);
        assert!((f.labels - 0.1).abs() < 1e-12);
        assert!((f.final_score - 0.8).abs() < 1e-12);
    }

    #[test]
    fn a_missing_text_signal_hands_its_weight_to_the_other() {
        let w = FusionWeights::new(0.25, 1.0).unwrap();
        assert_eq!(fuse(w, NONE, None, Some(0.5)).final_score, 0.5);
        assert_eq!(fuse(w, NONE, Some(0.5), None).final_score, 0.5);
        assert_eq!(fuse(w, NONE, None, None).final_score, 0.0);
    }

    #[test]
    fn the_final_score_stays_in_0_to_1() {
        let w = FusionWeights::new(0.5, 4.0).unwrap();
        let high = LabelScore {
            boost: 3900,
            penalty: 0,
        };
        let low = LabelScore {
            boost: 0,
            penalty: 2000,
        };
        assert_eq!(fuse(w, high, Some(1.0), Some(1.0)).final_score, 1.0);
        assert_eq!(fuse(w, low, Some(-0.2), Some(0.0)).final_score, 0.0);
    }

    #[test]
    fn weights_out_of_range_are_refused() {
        assert!(FusionWeights::new(1.1, 1.0).is_err());
        assert!(FusionWeights::new(-0.1, 1.0).is_err());
        assert!(FusionWeights::new(0.5, 4.5).is_err());
        assert!(FusionWeights::new(0.0, 0.0).is_ok());
    }
}
