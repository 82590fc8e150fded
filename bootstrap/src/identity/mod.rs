//! Who callers are: the tokens file (re-read when it changes) and JWTs from an OIDC issuer,
//! composed into the HTTP adapter's [`Authenticator`]; and the per-identity rate limiter.
//! Lives in bootstrap because JWT keys are fetched over HTTP, which the inbound adapter
//! should not do.

mod jwks;
mod jwt;
mod roles;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use datastorage_application::Clock;
use datastorage_http::auth::{Auth, Authenticator, Principal};
use datastorage_http::ratelimit::{RateLimiter, RateLimits};

pub use tokens::TokensReload;

use crate::StartupError;
use crate::settings::Settings;

struct JwtAuthenticator {
    keys: jwks::KeySource,
    expect: jwt::Expectations,
    algorithms: Vec<jwt::Algorithm>,
    roles: roles::RoleMapping,
}

impl JwtAuthenticator {
    async fn authenticate(&self, token: &str) -> Result<Principal, jwt::JwtError> {
        let unverified = jwt::decode(token, &self.algorithms)?;
        let Some(key) = self
            .keys
            .key(unverified.kid.as_deref(), unverified.alg)
            .await
        else {
            return Err(jwt::JwtError::UnknownKey(unverified.kid));
        };
        let claims = unverified.verify(&key, &self.expect, chrono::Utc::now().timestamp())?;
        Ok(Principal {
            roles: self.roles.roles_of(&claims),
            identity: claims.subject,
        })
    }
}

/// The credentials the service accepts; a handle tests use to re-read the tokens file.
#[derive(Clone, Default)]
pub struct Credentials {
    tokens: Option<Arc<tokens::TokensFile>>,
    jwt: Option<Arc<JwtAuthenticator>>,
}

impl Credentials {
    /// Checks the tokens file now, as the background watcher does every
    /// `DS_AUTH__TOKENS_RELOAD_SECS` (`None` without a tokens file).
    pub fn reload_tokens_file(&self) -> Option<TokensReload> {
        self.tokens.as_ref().map(|t| t.check())
    }

    /// Watches the tokens file until dropped (aborted at shutdown).
    pub(crate) async fn watch_tokens_file(self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let this = self.clone();
            // File reads block; a few per period are kept off the request workers.
            let _ = tokio::task::spawn_blocking(move || this.reload_tokens_file()).await;
        }
    }

    pub(crate) fn has_tokens_file(&self) -> bool {
        self.tokens.is_some()
    }

    fn is_on(&self) -> bool {
        self.tokens.is_some() || self.jwt.is_some()
    }
}

#[async_trait::async_trait]
impl Authenticator for Credentials {
    /// The tokens file first (a hash lookup), then, for what looks like a JWT, its
    /// verification.
    async fn authenticate(&self, bearer: &str) -> Option<Principal> {
        if let Some(tokens) = &self.tokens
            && let Some(principal) = tokens.current().find(bearer)
        {
            return Some(principal.clone());
        }
        let jwt = self.jwt.as_ref()?;
        if bearer.bytes().filter(|b| *b == b'.').count() != 2 {
            return None;
        }
        match jwt.authenticate(bearer).await {
            Ok(principal) => Some(principal),
            Err(e) => {
                metrics::counter!("datastorage_auth_jwt_refused_total", "reason" => e.kind())
                    .increment(1);
                tracing::debug!(reason = %e, "JWT refused");
                None
            }
        }
    }
}

fn setting(key: &'static str) -> impl Fn(String) -> StartupError {
    move |reason| StartupError::Setting { key, reason }
}

/// The credentials the settings ask for, and the authenticator the router uses (`None`:
/// authentication off, which only a loopback address, or an explicit opt-in, allows).
pub(crate) fn build(settings: &Settings) -> Result<(Auth, Credentials), StartupError> {
    let auth = &settings.auth;
    let tokens = auth
        .tokens_file
        .as_deref()
        .map(tokens::TokensFile::load)
        .transpose()
        .map_err(|e| setting("DS_AUTH__TOKENS_FILE")(e.to_string()))?
        .map(Arc::new);
    let jwt = match &auth.jwt.issuer {
        None => None,
        Some(issuer) => Some(Arc::new(jwt_authenticator(settings, issuer)?)),
    };
    let credentials = Credentials { tokens, jwt };
    if credentials.is_on() {
        return Ok((Some(Arc::new(credentials.clone())), credentials));
    }
    if !settings.http.addr.ip().is_loopback() && !auth.allow_anonymous {
        return Err(StartupError::Setting {
            key: "DS_AUTH__TOKENS_FILE",
            reason: format!(
                "is required to listen on {} (or DS_AUTH__JWT_ISSUER, or set \
                 DS_AUTH__ALLOW_ANONYMOUS=true)",
                settings.http.addr
            ),
        });
    }
    tracing::warn!("authentication is off: no DS_AUTH__TOKENS_FILE nor DS_AUTH__JWT_ISSUER");
    Ok((None, credentials))
}

fn jwt_authenticator(settings: &Settings, issuer: &str) -> Result<JwtAuthenticator, StartupError> {
    let jwt = &settings.auth.jwt;
    let audience = jwt
        .audience
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            setting("DS_AUTH__JWT_AUDIENCE")("is required with DS_AUTH__JWT_ISSUER".into())
        })?;
    let algorithms = jwt
        .algorithms
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            jwt::Algorithm::parse(a)
                .ok_or_else(|| format!("{a:?} is not one of RS256, ES256, EdDSA"))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|algs| {
            if algs.is_empty() {
                Err("names no algorithm".to_owned())
            } else {
                Ok(algs)
            }
        })
        .map_err(setting("DS_AUTH__JWT_ALGORITHMS"))?;
    let roles = roles::RoleMapping::parse(&jwt.roles, &jwt.groups_claim)
        .map_err(setting("DS_AUTH__JWT_ROLES"))?;
    let keys = jwks::KeySource::new(jwks::JwksSettings {
        issuer: issuer.to_owned(),
        jwks_url: jwt.jwks_url.clone(),
        refetch_min: Duration::from_secs(jwt.jwks_refetch_secs),
        max_age: Duration::from_secs(jwt.jwks_max_age_secs),
        timeout: Duration::from_millis(jwt.jwks_timeout_ms),
        ca_file: jwt.ca_file.clone(),
    })
    .map_err(setting("DS_AUTH__JWT_CA_FILE"))?;
    Ok(JwtAuthenticator {
        keys,
        expect: jwt::Expectations {
            issuer: issuer.to_owned(),
            audience,
            leeway_secs: i64::try_from(jwt.leeway_secs).unwrap_or(i64::MAX),
        },
        algorithms,
        roles,
    })
}

/// The rate limiter the settings ask for, on `clock` (tests pass a manual one).
pub(crate) fn rate_limiter(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> Result<Option<Arc<RateLimiter>>, StartupError> {
    let Some(text) = &settings.auth.rate_limits else {
        return Ok(None);
    };
    let limits =
        RateLimits::parse(text).map_err(|e| setting("DS_AUTH__RATE_LIMITS")(e.to_string()))?;
    Ok(Some(Arc::new(RateLimiter::new(limits, clock))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_watcher_swaps_in_a_changed_tokens_file_once_a_period_has_passed() {
        let entry = |id: &str| {
            format!(
                r#"{{"tokens": [{{"identity": "{id}", "sha256": "{}", "roles": []}}]}}"#,
                datastorage_domain::sha256_hex(id)
            )
        };
        let path = std::env::temp_dir().join(format!("tokens-{}.json", uuid::Uuid::now_v7()));
        std::fs::write(&path, entry("a")).unwrap();
        let tokens = Arc::new(tokens::TokensFile::load(&path).unwrap());
        let credentials = Credentials {
            tokens: Some(tokens.clone()),
            jwt: None,
        };
        let watcher = tokio::spawn(credentials.watch_tokens_file(Duration::from_secs(5)));
        std::fs::write(&path, entry("b")).unwrap();
        // The clock is paused: no period has passed, so nothing was re-read.
        tokio::task::yield_now().await;
        assert!(tokens.current().find("a").is_some());
        tokio::time::advance(Duration::from_secs(5)).await;
        // The re-read runs on a blocking thread; yielding (never sleeping) until it lands.
        while tokens.current().find("b").is_none() {
            tokio::task::yield_now().await;
        }
        assert!(tokens.current().find("a").is_none());
        watcher.abort();
    }
}
