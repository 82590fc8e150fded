//! The transparency log over every stored audit event (DESIGN.md §10): RFC 9162 Merkle
//! hashing, the RFC 8785 canonical form of a leaf, hash tiles that answer proofs without
//! rehashing the tree, and C2SP checkpoints signed as C2SP signed notes.

pub mod checkpoint;
pub mod jcs;
pub mod merkle;
pub mod note;
pub mod tiles;

pub use merkle::Hash;
