//! Benchmark support shared by the binaries: the retrieval-quality evaluation.

pub mod retrieval;
