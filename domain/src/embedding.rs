//! Text embeddings: vectors from a named model, compared by cosine similarity.

use std::fmt;

use crate::ValidationErrors;

/// Which model produced an embedding; vectors of different models never compare.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmbeddingModel(String);

impl EmbeddingModel {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationErrors> {
        let value = value.into();
        if value.is_empty() || value.len() > 200 || value.contains(['\0', ' ']) {
            return Err(ValidationErrors::single(
                "embedding_model",
                "must be 1 to 200 characters without spaces",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmbeddingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a vector is not a usable embedding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbeddingError {
    #[error("an embedding must have at least one value")]
    Empty,
    #[error("an embedding must hold finite numbers only")]
    NotFinite,
    #[error(
        "cannot compare a {left}-dimensional {left_model} vector with a {right}-dimensional {right_model} one"
    )]
    Mismatch {
        left: usize,
        left_model: String,
        right: usize,
        right_model: String,
    },
}

/// A non-empty vector of finite numbers, tagged with its model.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    model: EmbeddingModel,
    values: Vec<f32>,
}

impl Embedding {
    pub fn new(model: EmbeddingModel, values: Vec<f32>) -> Result<Self, EmbeddingError> {
        if values.is_empty() {
            return Err(EmbeddingError::Empty);
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(EmbeddingError::NotFinite);
        }
        Ok(Self { model, values })
    }

    pub fn model(&self) -> &EmbeddingModel {
        &self.model
    }

    pub fn dimension(&self) -> usize {
        self.values.len()
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Cosine similarity in [-1, 1] (0 when either vector is all zeros).
    pub fn cosine(&self, other: &Embedding) -> Result<f64, EmbeddingError> {
        if self.model != other.model || self.dimension() != other.dimension() {
            return Err(EmbeddingError::Mismatch {
                left: self.dimension(),
                left_model: self.model.to_string(),
                right: other.dimension(),
                right_model: other.model.to_string(),
            });
        }
        let (mut dot, mut a, mut b) = (0f64, 0f64, 0f64);
        for (x, y) in self.values.iter().zip(&other.values) {
            let (x, y) = (f64::from(*x), f64::from(*y));
            dot += x * y;
            a += x * x;
            b += y * y;
        }
        if a == 0.0 || b == 0.0 {
            return Ok(0.0);
        }
        Ok((dot / (a.sqrt() * b.sqrt())).clamp(-1.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m() -> EmbeddingModel {
        EmbeddingModel::parse("test-model").unwrap()
    }

    #[test]
    fn only_finite_non_empty_vectors_are_embeddings() {
        assert_eq!(Embedding::new(m(), vec![]), Err(EmbeddingError::Empty));
        assert_eq!(
            Embedding::new(m(), vec![1.0, f32::NAN]),
            Err(EmbeddingError::NotFinite)
        );
        assert_eq!(
            Embedding::new(m(), vec![f32::INFINITY]),
            Err(EmbeddingError::NotFinite)
        );
    }

    #[test]
    fn different_models_or_dimensions_never_compare() {
        let a = Embedding::new(m(), vec![1.0, 0.0]).unwrap();
        let b = Embedding::new(EmbeddingModel::parse("other").unwrap(), vec![1.0, 0.0]).unwrap();
        let c = Embedding::new(m(), vec![1.0, 0.0, 0.0]).unwrap();
        assert!(a.cosine(&b).is_err());
        assert!(a.cosine(&c).is_err());
    }

    proptest! {
        #[test]
        fn cosine_is_symmetric_bounded_and_1_on_itself(v in proptest::collection::vec(-10.0f32..10.0, 1..16), w in proptest::collection::vec(-10.0f32..10.0, 1..16)) {
            let n = v.len().min(w.len());
            let a = Embedding::new(m(), v[..n].to_vec()).unwrap();
            let b = Embedding::new(m(), w[..n].to_vec()).unwrap();
            let ab = a.cosine(&b).unwrap();
            prop_assert!((-1.0..=1.0).contains(&ab));
            prop_assert!((ab - b.cosine(&a).unwrap()).abs() < 1e-12);
            if v[..n].iter().any(|x| *x != 0.0) {
                prop_assert!((a.cosine(&a).unwrap() - 1.0).abs() < 1e-9);
            }
        }
    }
}
