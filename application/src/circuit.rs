//! A circuit breaker in front of the audit store: after `failure_threshold` consecutive
//! transient failures, writes skip the store (and its retries) and go straight to the
//! dead-letter queue for `open_for`; then one caller probes the store again.
//!
//! Who probes: a request, unless a background prober (the dead-letter replay worker) has
//! registered. Then requests never probe, so no request waits out a store that is still
//! down (measured in issue 8: with PostgreSQL stopped, a request probe every second held a
//! client for the whole retry deadline, about a fifth of the fallback's capacity).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    pub failure_threshold: u32,
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: DateTime<Utc>,
    },
    /// One probe is in flight since `since`; others keep falling back meanwhile.
    Probing {
        since: DateTime<Utc>,
    },
}

#[derive(Debug)]
pub struct CircuitBreaker {
    settings: BreakerSettings,
    state: Mutex<State>,
    /// Set once a background prober takes over probing from requests.
    background_probe: AtomicBool,
}

impl CircuitBreaker {
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
            background_probe: AtomicBool::new(false),
        }
    }

    /// From now on the caller of [`Self::allows_probe`] probes, and requests only use a
    /// closed breaker.
    pub fn probe_in_background(&self) {
        self.background_probe.store(true, Ordering::SeqCst);
    }

    /// How long the breaker stays open before the next probe.
    pub fn open_period(&self) -> Duration {
        self.settings.open_for
    }

    fn open_for(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.open_for).unwrap_or(chrono::Duration::MAX)
    }

    /// Whether a request may try the store now.
    pub fn allows_attempt(&self, now: DateTime<Utc>) -> bool {
        if self.background_probe.load(Ordering::SeqCst) {
            return !self.is_open();
        }
        self.allows_probe(now)
    }

    /// Whether the caller may try the store now, as the probe if the breaker is open: at most
    /// one probe at a time, once the open period is over.
    pub fn allows_probe(&self, now: DateTime<Utc>) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                *state = State::Probing { since: now };
                true
            }
            State::Open { .. } => false,
            // A probe that never reported back (cancelled) must not keep the breaker open.
            State::Probing { since } if now >= since + self.open_for() => {
                *state = State::Probing { since: now };
                true
            }
            State::Probing { .. } => false,
        }
    }

    /// The store answered (with success or a permanent refusal): it is up.
    pub fn record_success(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = State::Closed { failures: 0 };
    }

    /// The store failed transiently.
    pub fn record_failure(&self, now: DateTime<Utc>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.settings.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            _ => State::Open {
                until: now + self.open_for(),
            },
        };
    }

    pub fn is_open(&self) -> bool {
        !matches!(
            *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            State::Closed { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap_or_default()
    }

    #[test]
    fn opens_after_the_threshold_then_lets_one_probe_through() {
        let b = CircuitBreaker::new(BreakerSettings {
            failure_threshold: 3,
            open_for: Duration::from_millis(100),
        });
        for _ in 0..2 {
            b.record_failure(t(0));
            assert!(b.allows_attempt(t(0)));
        }
        b.record_failure(t(0));
        assert!(!b.allows_attempt(t(50)), "open: straight to the queue");
        assert!(b.allows_attempt(t(100)), "the probe");
        assert!(!b.allows_attempt(t(101)), "only one probe at a time");
        b.record_failure(t(110));
        assert!(!b.allows_attempt(t(150)));
        assert!(b.allows_attempt(t(210)));
        b.record_success();
        assert!(b.allows_attempt(t(211)) && !b.is_open());
    }

    #[test]
    fn a_lost_probe_does_not_keep_it_open_forever() {
        let b = CircuitBreaker::new(BreakerSettings {
            failure_threshold: 1,
            open_for: Duration::from_millis(100),
        });
        b.record_failure(t(0));
        assert!(b.allows_attempt(t(100)));
        assert!(!b.allows_attempt(t(150)));
        assert!(b.allows_attempt(t(200)));
    }

    #[test]
    fn with_a_background_prober_requests_never_probe() {
        let b = CircuitBreaker::new(BreakerSettings {
            failure_threshold: 1,
            open_for: Duration::from_millis(100),
        });
        b.probe_in_background();
        assert!(b.allows_attempt(t(0)), "closed: requests use the store");
        b.record_failure(t(0));
        assert!(
            !b.allows_attempt(t(100)),
            "open period over, but requests do not probe"
        );
        assert!(b.allows_probe(t(100)), "the prober does");
        assert!(!b.allows_attempt(t(101)) && !b.allows_probe(t(101)));
        b.record_success();
        assert!(b.allows_attempt(t(102)));
    }
}
