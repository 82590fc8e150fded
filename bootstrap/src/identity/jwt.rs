//! JWS compact tokens (RFC 7515/7519) checked against JWKS keys (RFC 7517/7518), on `ring`.
//!
//! Strict on purpose: only the algorithms configured (of RS256, ES256, EdDSA), never `none`;
//! no `crit` extensions; the key must be one the issuer publishes for that algorithm; `iss`
//! exact, `aud` naming this service, `exp` required. Claims are parsed only once the
//! signature holds. Kept small enough to read whole rather than taking a JWT crate.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

/// Longer bearer values are not tokens anyone issues; refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rs256,
    Es256,
    EdDsa,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// A verification key, in the form `ring` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// The uncompressed point `0x04 || x || y`.
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl PublicKey {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Rsa { .. } => Algorithm::Rs256,
            Self::P256(_) => Algorithm::Es256,
            Self::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            // ring refuses moduli under 2048 bits here.
            Self::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            Self::P256(point) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, sig)
                .is_ok(),
            Self::Ed25519(x) => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, sig)
                .is_ok(),
        }
    }
}

/// One key of a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    pub key: PublicKey,
}

/// Why a token (or a key set) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    #[error("critical header extensions are not supported")]
    Critical,
    #[error("no key {0:?} for this algorithm in the issuer's key set")]
    UnknownKey(Option<String>),
    #[error("the signature does not verify")]
    Signature,
    #[error("issuer {0:?} is not the one configured")]
    Issuer(String),
    #[error("the audience does not name this service")]
    Audience,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("no subject")]
    Subject,
}

impl JwtError {
    /// A bounded label for the refusal counter.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Algorithm(_) => "algorithm",
            Self::Critical => "critical",
            Self::UnknownKey(_) => "unknown_key",
            Self::Signature => "signature",
            Self::Issuer(_) => "issuer",
            Self::Audience => "audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Subject => "subject",
        }
    }
}

fn b64(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part).ok()
}

/// The keys of a JWKS document this service can use: signature keys (`use` absent or
/// `sig`) of RSA, P-256 or Ed25519 whose `alg`, if given, is the one their type implies.
/// Other keys (encryption keys, other curves) are skipped, not errors.
///
/// # Errors
/// When the document is not a JWKS.
pub fn parse_jwks(bytes: &[u8]) -> Result<Vec<Jwk>, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    Ok(keys.iter().filter_map(parse_jwk).collect())
}

fn parse_jwk(jwk: &Value) -> Option<Jwk> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    let bytes = |name: &str| field(name).and_then(b64);
    if field("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let key = match (field("kty")?, field("crv")) {
        ("RSA", _) => {
            let strip = |v: Vec<u8>| {
                let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
                v[first..].to_vec()
            };
            let (n, e) = (strip(bytes("n")?), strip(bytes("e")?));
            if n.is_empty() || e.is_empty() {
                return None;
            }
            PublicKey::Rsa { n, e }
        }
        ("EC", Some("P-256")) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            PublicKey::P256([&[0x04][..], &x, &y].concat())
        }
        ("OKP", Some("Ed25519")) => {
            let x = bytes("x")?;
            if x.len() != 32 {
                return None;
            }
            PublicKey::Ed25519(x)
        }
        _ => return None,
    };
    if field("alg").is_some_and(|alg| alg != key.algorithm().name()) {
        return None;
    }
    Some(Jwk {
        kid: field("kid").map(str::to_owned),
        key,
    })
}

/// The key a token names: by `kid`, or, without one, the only key of its algorithm.
pub fn pick<'k>(keys: &'k [Jwk], kid: Option<&str>, alg: Algorithm) -> Option<&'k PublicKey> {
    let mut fitting = keys.iter().filter(|k| k.key.algorithm() == alg);
    match kid {
        Some(kid) => fitting
            .find(|k| k.kid.as_deref() == Some(kid))
            .map(|k| &k.key),
        None => match (fitting.next(), fitting.next()) {
            (Some(only), None) => Some(&only.key),
            _ => None,
        },
    }
}

/// A token whose header is understood and whose signature is not yet checked.
#[derive(Debug)]
pub struct Unverified<'t> {
    pub alg: Algorithm,
    pub kid: Option<String>,
    signing_input: &'t str,
    payload: &'t str,
    signature: Vec<u8>,
}

/// Splits and decodes a compact JWS, refusing an algorithm not in `allowed`.
///
/// # Errors
/// When it is not three base64url parts, its header is not a JSON object with an accepted
/// `alg`, or it carries `crit`.
pub fn decode<'t>(token: &'t str, allowed: &[Algorithm]) -> Result<Unverified<'t>, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three parts"));
    };
    let header: Map<String, Value> = b64(header)
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(JwtError::Malformed("header is not base64url JSON"))?;
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtError::Malformed("no alg"))?;
    let alg = Algorithm::parse(alg_name)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| JwtError::Algorithm(alg_name.to_owned()))?;
    if header.contains_key("crit") {
        return Err(JwtError::Critical);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(JwtError::Malformed("kid is not a string")),
    };
    let signature = b64(sig).ok_or(JwtError::Malformed("signature is not base64url"))?;
    Ok(Unverified {
        alg,
        kid,
        signing_input: &token[..token.len() - sig.len() - 1],
        payload,
        signature,
    })
}

/// What a token must claim.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: i64,
}

/// A verified token's claims.
#[derive(Debug, Clone)]
pub struct Claims {
    pub subject: String,
    pub all: Map<String, Value>,
}

impl Unverified<'_> {
    /// Checks the signature with `key`, then the claims at `now` (Unix seconds).
    ///
    /// # Errors
    /// When the key is not of the token's algorithm, the signature fails, or a claim does
    /// not meet `expect`.
    pub fn verify(
        self,
        key: &PublicKey,
        expect: &Expectations,
        now: i64,
    ) -> Result<Claims, JwtError> {
        if key.algorithm() != self.alg {
            return Err(JwtError::UnknownKey(self.kid));
        }
        if !key.verifies(self.signing_input.as_bytes(), &self.signature) {
            return Err(JwtError::Signature);
        }
        let all: Map<String, Value> = b64(self.payload)
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(JwtError::Malformed("payload is not base64url JSON"))?;
        check_claims(all, expect, now)
    }
}

fn check_claims(
    all: Map<String, Value>,
    expect: &Expectations,
    now: i64,
) -> Result<Claims, JwtError> {
    let iss = all.get("iss").and_then(Value::as_str).unwrap_or_default();
    if iss != expect.issuer {
        return Err(JwtError::Issuer(iss.to_owned()));
    }
    let audience_named = match all.get("aud") {
        Some(Value::String(aud)) => *aud == expect.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&expect.audience)),
        _ => false,
    };
    if !audience_named {
        return Err(JwtError::Audience);
    }
    let seconds = |name: &str| all.get(name).and_then(Value::as_f64);
    let now = now as f64;
    let leeway = expect.leeway_secs as f64;
    match seconds("exp") {
        Some(exp) if now < exp + leeway => {}
        Some(_) => return Err(JwtError::Expired),
        None => return Err(JwtError::Malformed("no numeric exp")),
    }
    if all.contains_key("nbf") {
        match seconds("nbf") {
            Some(nbf) if now + leeway >= nbf => {}
            Some(_) => return Err(JwtError::NotYetValid),
            None => return Err(JwtError::Malformed("nbf is not numeric")),
        }
    }
    let subject = match all.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
        _ => return Err(JwtError::Subject),
    };
    Ok(Claims { subject, all })
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
