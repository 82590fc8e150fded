//! Per-identity rate limits on the API routes: a token bucket per caller, its rate and burst
//! chosen by configuration (the caller's identity, else its most generous role, else the
//! default). Over the limit: 429 `rate-limited` with `Retry-After`. Runs after
//! authentication, so it limits who the caller is, not where it connects from; probes,
//! metrics and docs are outside `/api/v1` and never limited.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use datastorage_application::Clock;

use crate::auth::{Principal, Role};
use crate::problem::ApiError;

/// The one bucket every request shares when the service runs without authentication.
pub const ANONYMOUS: &str = "anonymous";

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once (the bucket's size).
    pub burst: u32,
}

/// What limits whom: `{"default": {"per_second": 50, "burst": 100}, "roles": {"audit-writer":
/// {...}}, "identities": {"gateway": {...}}}`. A caller with no matching entry and no
/// default is not limited.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    default: Option<Rate>,
    roles: Vec<(Role, Rate)>,
    identities: HashMap<String, Rate>,
}

/// A rate-limit configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RateLimitsError(String);

impl RateLimits {
    /// # Errors
    /// When the text is not such a document, names an unknown role, or holds a rate that is
    /// not positive or a burst under 1.
    pub fn parse(text: &str) -> Result<Self, RateLimitsError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Document {
            default: Option<Rate>,
            #[serde(default)]
            roles: BTreeMap<String, Rate>,
            #[serde(default)]
            identities: BTreeMap<String, Rate>,
        }
        let doc: Document = serde_json::from_str(text)
            .map_err(|e| RateLimitsError(format!("not a rate-limit document: {e}")))?;
        let check = |whom: &str, rate: &Rate| {
            if !(rate.per_second.is_finite() && rate.per_second > 0.0) || rate.burst == 0 {
                return Err(RateLimitsError(format!(
                    "{whom}: per_second must be positive and burst at least 1"
                )));
            }
            Ok(())
        };
        if let Some(rate) = &doc.default {
            check("default", rate)?;
        }
        let mut roles = Vec::new();
        for (name, rate) in &doc.roles {
            let role = Role::parse(name)
                .ok_or_else(|| RateLimitsError(format!("unknown role {name:?}")))?;
            check(name, rate)?;
            roles.push((role, *rate));
        }
        for (name, rate) in &doc.identities {
            check(name, rate)?;
        }
        Ok(Self {
            default: doc.default,
            roles,
            identities: doc.identities.into_iter().collect(),
        })
    }

    /// The rate for this caller, and the metric label naming the entry that chose it (from
    /// the configuration, so the label's values are bounded by it).
    fn rate_for(&self, identity: &str, roles: &[Role]) -> Option<(Rate, String)> {
        if let Some(rate) = self.identities.get(identity) {
            return Some((*rate, format!("identity:{identity}")));
        }
        let by_role = self
            .roles
            .iter()
            .filter(|(role, _)| roles.contains(role))
            .max_by(|a, b| a.1.per_second.total_cmp(&b.1.per_second));
        if let Some((role, rate)) = by_role {
            return Some((*rate, format!("role:{}", role.as_str())));
        }
        self.default.map(|rate| (rate, "default".to_owned()))
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
    rate: Rate,
}

impl Bucket {
    /// Tokens earned since `at`, capped at the burst; a clock that stepped back earns none.
    fn refill(&mut self, now: DateTime<Utc>, rate: Rate) {
        let elapsed = (now - self.at).to_std().map_or(0.0, |d| d.as_secs_f64());
        self.rate = rate;
        self.tokens = (self.tokens + elapsed * rate.per_second).min(f64::from(rate.burst));
        if now > self.at {
            self.at = now;
        }
    }

    fn full_at(&self, now: DateTime<Utc>) -> bool {
        let mut probe = *self;
        probe.refill(now, self.rate);
        probe.tokens >= f64::from(self.rate.burst)
    }
}

/// Below this many buckets no sweep runs.
const MIN_SWEEP: usize = 1024;

struct Buckets {
    by_identity: HashMap<String, Bucket>,
    /// The size at which the next sweep runs (twice what the last one left), so sweeps cost
    /// amortised constant time per request.
    sweep_at: usize,
}

/// Whether a request may go ahead.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allowed,
    /// Over the limit; `retry_after_secs` (at least 1) until a token is back.
    Limited {
        retry_after_secs: u64,
        limit: String,
    },
}

/// The buckets, under one lock (held for a few arithmetic operations per request).
pub struct RateLimiter {
    limits: RateLimits,
    clock: Arc<dyn Clock>,
    buckets: Mutex<Buckets>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            clock,
            buckets: Mutex::new(Buckets {
                by_identity: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
        }
    }

    /// Takes a token from the caller's bucket, if it has one.
    pub fn check(&self, identity: &str, roles: &[Role]) -> Decision {
        let Some((rate, limit)) = self.limits.rate_for(identity, roles) else {
            return Decision::Allowed;
        };
        let now = self.clock.now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.by_identity.len() >= buckets.sweep_at {
            // A full bucket is what a new one would be: dropping it forgets nothing. What is
            // left are callers active within their last burst/rate seconds, so memory is
            // bounded by the recently active identities.
            buckets.by_identity.retain(|_, b| !b.full_at(now));
            buckets.sweep_at = (buckets.by_identity.len() * 2).max(MIN_SWEEP);
        }
        let bucket = match buckets.by_identity.get_mut(identity) {
            Some(b) => b,
            None => buckets
                .by_identity
                .entry(identity.to_owned())
                .or_insert(Bucket {
                    tokens: f64::from(rate.burst),
                    at: now,
                    rate,
                }),
        };
        bucket.refill(now, rate);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Decision::Allowed;
        }
        let wait = (1.0 - bucket.tokens) / rate.per_second;
        Decision::Limited {
            retry_after_secs: (wait.ceil() as u64).max(1),
            limit,
        }
    }

    /// Buckets held now (for tests of the eviction).
    pub fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_identity
            .len()
    }
}

/// `None`: no rate limits configured.
pub type Limiter = Option<Arc<RateLimiter>>;

pub async fn enforce(State(limiter): State<Limiter>, request: Request, next: Next) -> Response {
    let Some(limiter) = limiter else {
        return next.run(request).await;
    };
    let decision = match request.extensions().get::<Principal>() {
        Some(p) => limiter.check(&p.identity, &p.roles),
        None => limiter.check(ANONYMOUS, &[]),
    };
    let Decision::Limited {
        retry_after_secs,
        limit,
    } = decision
    else {
        return next.run(request).await;
    };
    metrics::counter!("datastorage_http_rate_limited_total", "limit" => limit).increment(1);
    let mut response = ApiError::Specific {
        status: StatusCode::TOO_MANY_REQUESTS,
        slug: "rate-limited",
        title: "Too Many Requests",
        detail: format!("over this caller's rate limit; retry in {retry_after_secs} s"),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use datastorage_application::ManualClock;

    use super::*;

    fn limiter(text: &str) -> (RateLimiter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        (
            RateLimiter::new(RateLimits::parse(text).unwrap(), clock.clone()),
            clock,
        )
    }

    fn limited(d: &Decision) -> bool {
        matches!(d, Decision::Limited { .. })
    }

    #[test]
    fn a_burst_is_allowed_then_limited_until_the_bucket_refills() {
        let (l, clock) = limiter(r#"{"default": {"per_second": 0.5, "burst": 2}}"#);
        assert_eq!(l.check("a", &[]), Decision::Allowed);
        assert_eq!(l.check("a", &[]), Decision::Allowed);
        assert_eq!(
            l.check("a", &[]),
            Decision::Limited {
                retry_after_secs: 2,
                limit: "default".into()
            }
        );
        assert_eq!(l.check("b", &[]), Decision::Allowed, "another caller");
        clock.advance(Duration::from_secs(1));
        assert!(limited(&l.check("a", &[])), "half a token is not one");
        clock.advance(Duration::from_secs(1));
        assert_eq!(l.check("a", &[]), Decision::Allowed);
    }

    #[test]
    fn identity_beats_role_beats_default_and_the_most_generous_role_wins() {
        let (l, _) = limiter(
            r#"{"default": {"per_second": 1, "burst": 1},
                "roles": {"audit-writer": {"per_second": 1, "burst": 3}, "operator": {"per_second": 2, "burst": 2}},
                "identities": {"vip": {"per_second": 1, "burst": 5}}}"#,
        );
        let count = |who: &str, roles: &[Role]| {
            (0..10)
                .take_while(|_| !limited(&l.check(who, roles)))
                .count()
        };
        assert_eq!(count("vip", &[Role::Operator]), 5);
        assert_eq!(count("w", &[Role::AuditWriter, Role::Operator]), 2);
        assert_eq!(count("x", &[Role::AuditWriter]), 3);
        assert_eq!(count("y", &[Role::AuditReader]), 1);
        match l.check("w", &[Role::AuditWriter, Role::Operator]) {
            Decision::Limited { limit, .. } => assert_eq!(limit, "role:operator"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_a_matching_entry_nobody_is_limited() {
        let (l, _) = limiter(r#"{"identities": {"noisy": {"per_second": 1, "burst": 1}}}"#);
        for _ in 0..100 {
            assert_eq!(l.check("quiet", &[]), Decision::Allowed);
        }
        assert_eq!(l.tracked(), 0, "an unlimited caller holds no bucket");
    }

    #[test]
    fn idle_buckets_are_swept() {
        let (l, clock) = limiter(r#"{"default": {"per_second": 1, "burst": 1}}"#);
        for i in 0..MIN_SWEEP {
            l.check(&format!("caller-{i}"), &[]);
        }
        assert_eq!(l.tracked(), MIN_SWEEP);
        clock.advance(Duration::from_secs(1));
        l.check("late", &[]);
        assert_eq!(l.tracked(), 1, "only the caller just seen is left");
        assert!(
            limited(&l.check("late", &[])),
            "its bucket survived the sweep"
        );
    }

    #[test]
    fn a_clock_stepping_back_earns_nothing() {
        let (l, clock) = limiter(r#"{"default": {"per_second": 1, "burst": 1}}"#);
        clock.advance(Duration::from_secs(10));
        assert_eq!(l.check("a", &[]), Decision::Allowed);
        let back = Arc::new(ManualClock::new(clock.now() - chrono::Duration::seconds(5)));
        let l2 = RateLimiter { clock: back, ..l };
        assert!(limited(&l2.check("a", &[])));
    }

    #[test]
    fn bad_documents_are_refused() {
        for bad in [
            "[]",
            r#"{"default": {"per_second": 0, "burst": 1}}"#,
            r#"{"default": {"per_second": 1, "burst": 0}}"#,
            r#"{"roles": {"root": {"per_second": 1, "burst": 1}}}"#,
            r#"{"identities": {"a": {"per_second": -1, "burst": 1}}}"#,
            r#"{"default": {"per_second": 1, "burst": 1}, "extra": 1}"#,
        ] {
            assert!(RateLimits::parse(bad).is_err(), "{bad}");
        }
    }
}
