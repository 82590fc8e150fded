//! Benchmark support shared by the binaries: the retrieval-quality evaluation.

pub mod fusion_cv;
pub mod retrieval;
