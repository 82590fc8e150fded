//! Settings that are secrets: printed only redacted.

/// A URL that may carry a password: shown only redacted (`Debug`, `Display`), read whole
/// only where a connection is made ([`SecretUrl::expose`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// The URL itself, password included: for connecting, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl std::str::FromStr for SecretUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self(url.to_owned()))
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl std::fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// Text that may hold credentials (request headers): never shown, read only where used.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    /// The text itself: for use, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for SecretText {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.to_owned()))
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a comma-separated list
/// (a Redis Cluster's seed nodes) URL by URL.
pub fn redact_url(url: &str) -> String {
    if url.contains(',') {
        return url.split(',').map(redact_one).collect::<Vec<_>>().join(",");
    }
    redact_one(url)
}

fn redact_one(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".into();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => authority.to_owned(),
    };
    // Query strings may carry passwords too (`?password=`): drop them.
    let path = path
        .map(|p| p.split('?').next().unwrap_or(""))
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod seed_list_tests {
    use super::redact_url;

    #[test]
    fn every_url_of_a_seed_list_is_redacted() {
        let shown = redact_url("rediss://u:pw1@a:6379/,rediss://u:pw2@b:6379/");
        assert_eq!(shown, "rediss://u:***@a:6379/,rediss://u:***@b:6379/");
        assert!(!shown.contains("pw"));
    }
}
