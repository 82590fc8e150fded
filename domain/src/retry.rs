//! How long to wait before trying a failed write again. Which errors are worth retrying is
//! the storage adapter's knowledge (`adapters/postgres/src/error.rs`), not the domain's.

use std::time::Duration;

/// Exponential backoff with jitter, bounded by attempts, a cap and a deadline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub attempts: u32,
    /// Delay before the first retry.
    pub base: Duration,
    /// Growth of the delay per retry.
    pub multiplier: f64,
    /// Longest single delay.
    pub cap: Duration,
    /// Fraction of each delay that is randomised away (0 = none, 1 = "full jitter").
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 3 attempts, 50 ms, ×2, capped at 1 s, half jitter: at most 150 ms of waiting.
    fn default() -> Self {
        Self {
            attempts: 3,
            base: Duration::from_millis(50),
            multiplier: 2.0,
            cap: Duration::from_secs(1),
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// The original design's 1 s / 2 s / 4 s preset (holds a request for up to 7 s).
    pub fn conservative() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_secs(1),
            multiplier: 2.0,
            cap: Duration::from_secs(4),
            jitter: 0.0,
        }
    }

    /// The delay before retry number `retry` (1-based). `unit` is a random draw in [0, 1).
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let raw = self.base.as_secs_f64() * self.multiplier.max(1.0).powi(exponent);
        let capped = raw.min(self.cap.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        Duration::from_secs_f64((capped * (1.0 - jitter)).max(0.0))
    }

    /// Every delay to wait, in order, such that their sum stays within `deadline`: a retry
    /// that could not start before the deadline is dropped. `units` supplies the random draws.
    pub fn schedule(&self, deadline: Duration, mut units: impl FnMut() -> f64) -> Vec<Duration> {
        let mut delays = Vec::new();
        let mut total = Duration::ZERO;
        for retry in 1..self.attempts {
            let d = self.delay(retry, units());
            if total + d > deadline {
                break;
            }
            total += d;
            delays.push(d);
        }
        delays
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> impl Strategy<Value = RetryPolicy> {
        (
            1u32..12,
            0u64..2_000,
            1.0f64..4.0,
            0u64..10_000,
            0.0f64..=1.0,
        )
            .prop_map(|(attempts, base, multiplier, cap, jitter)| RetryPolicy {
                attempts,
                base: Duration::from_millis(base),
                multiplier,
                cap: Duration::from_millis(cap),
                jitter,
            })
    }

    proptest! {
        #[test]
        fn no_delay_exceeds_the_cap(p in policy(), retry in 1u32..64, unit in 0.0f64..1.0) {
            prop_assert!(p.delay(retry, unit) <= p.cap);
        }

        #[test]
        fn the_schedule_respects_attempts_and_deadline(
            p in policy(), deadline_ms in 0u64..20_000, seed in any::<u64>()
        ) {
            let mut state = seed;
            let schedule = p.schedule(Duration::from_millis(deadline_ms), || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            });
            prop_assert!(schedule.len() < p.attempts.max(1) as usize);
            prop_assert!(schedule.iter().sum::<Duration>() <= Duration::from_millis(deadline_ms));
            prop_assert!(schedule.iter().all(|d| *d <= p.cap));
        }

        #[test]
        fn without_jitter_delays_never_shrink(p in policy(), retry in 1u32..30) {
            let p = RetryPolicy { jitter: 0.0, ..p };
            prop_assert!(p.delay(retry + 1, 0.5) >= p.delay(retry, 0.5));
        }
    }

    #[test]
    fn the_default_waits_50_then_100_ms_at_most() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.schedule(Duration::from_secs(10), || 0.0),
            [Duration::from_millis(50), Duration::from_millis(100)]
        );
    }
}
