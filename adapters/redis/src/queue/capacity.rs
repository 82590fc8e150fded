//! The queue's capacity, and the warnings as its depth nears it.

use std::sync::atomic::{AtomicU8, Ordering};

/// Logs once per rise when the depth crosses 80, 90 and 95 % of capacity.
pub(super) struct CapacityWatch {
    pub(super) capacity: u64,
    /// Highest level logged (0, 80, 90, 95).
    warned: AtomicU8,
}

impl CapacityWatch {
    pub(super) fn new(capacity: u64) -> Self {
        Self {
            capacity,
            warned: AtomicU8::new(0),
        }
    }

    pub(super) fn observe(&self, depth: u64) {
        let ratio = depth as f64 / self.capacity.max(1) as f64;
        let level = [95u8, 90, 80]
            .into_iter()
            .find(|l| ratio * 100.0 >= f64::from(*l))
            .unwrap_or(0);
        let previous = self.warned.swap(level, Ordering::Relaxed);
        if level > previous {
            tracing::warn!(
                depth,
                capacity = self.capacity,
                level,
                "dead-letter queue is filling up"
            );
        }
    }
}
