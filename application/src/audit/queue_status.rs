//! Use-case: the state of the dead-letter queue, for `/dlq` and readiness.

use super::AuditService;
use crate::cause::chain;
use crate::ports::{QueueDurability, QueueStats};

/// What an operator needs to know about the queue.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueStatus {
    /// No queue configured: a storage outage answers 503.
    NotConfigured,
    Available {
        stats: QueueStats,
        durability: QueueDurability,
    },
    Unavailable(String),
}

impl AuditService {
    pub async fn queue_status(&self) -> QueueStatus {
        let Some(queue) = &self.queue else {
            return QueueStatus::NotConfigured;
        };
        match (queue.stats().await, queue.durability().await) {
            (Ok(stats), Ok(durability)) => QueueStatus::Available { stats, durability },
            (Err(e), _) | (_, Err(e)) => QueueStatus::Unavailable(chain(&e)),
        }
    }

    /// Whether writes currently skip storage because it failed repeatedly.
    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open()
    }
}
