//! Settings of authentication (tokens file, JWTs) and per-identity rate limits.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct AuthSettings {
    /// JSON file of accepted bearer tokens, stored as SHA-256 hashes:
    /// `{"tokens": [{"identity": "gateway", "sha256": "<hex>", "roles": ["audit-writer"]}]}`.
    /// Roles: audit-writer, audit-reader, audit-admin, catalog-admin, catalog-reader, operator.
    /// Re-read when it changes. Absent (and no JWT issuer): no authentication, allowed only
    /// on a loopback address (or with --allow-anonymous).
    #[arg(
        id = "tokens_file",
        value_name = "TOKENS_FILE",
        long = "tokens-file",
        env = "DS_AUTH__TOKENS_FILE"
    )]
    pub tokens_file: Option<std::path::PathBuf>,

    /// Seconds between checks of the tokens file for changes (0: read once at start).
    #[arg(
        id = "tokens_reload_secs",
        value_name = "TOKENS_RELOAD_SECS",
        long = "tokens-reload-secs",
        env = "DS_AUTH__TOKENS_RELOAD_SECS",
        default_value_t = 5
    )]
    pub tokens_reload_secs: u64,

    /// Serve without authentication on a non-loopback address (not for production).
    #[arg(id = "allow_anonymous",
        value_name = "ALLOW_ANONYMOUS", long = "allow-anonymous", env = "DS_AUTH__ALLOW_ANONYMOUS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_anonymous: bool,

    #[command(flatten)]
    pub jwt: JwtSettings,

    /// Per-identity rate limits, JSON: `{"default": {"per_second": 50, "burst": 100},
    /// "roles": {"audit-writer": {...}}, "identities": {"gateway": {...}}}` (an identity's
    /// entry wins, then its most generous role's, then the default; no entry: unlimited).
    /// Over the limit: 429 with Retry-After. Without authentication every request is the
    /// identity `anonymous`. Absent: no rate limits.
    #[arg(
        id = "rate_limits",
        value_name = "RATE_LIMITS",
        long = "rate-limits",
        env = "DS_AUTH__RATE_LIMITS"
    )]
    pub rate_limits: Option<String>,
}

/// Bearer JWTs from an OIDC issuer (a Kubernetes projected service-account token, say).
#[derive(Debug, Clone, Args)]
pub struct JwtSettings {
    /// The issuer whose JWTs are accepted (their `iss`, exactly); setting it turns JWTs on.
    #[arg(
        id = "jwt_issuer",
        value_name = "JWT_ISSUER",
        long = "jwt-issuer",
        env = "DS_AUTH__JWT_ISSUER"
    )]
    pub issuer: Option<String>,

    /// The audience a JWT must name in its `aud` (required with --jwt-issuer).
    #[arg(
        id = "jwt_audience",
        value_name = "JWT_AUDIENCE",
        long = "jwt-audience",
        env = "DS_AUTH__JWT_AUDIENCE"
    )]
    pub audience: Option<String>,

    /// URL of the issuer's JWKS; absent: the `jwks_uri` of
    /// `<issuer>/.well-known/openid-configuration`.
    #[arg(
        id = "jwt_jwks_url",
        value_name = "JWT_JWKS_URL",
        long = "jwt-jwks-url",
        env = "DS_AUTH__JWT_JWKS_URL"
    )]
    pub jwks_url: Option<String>,

    /// Roles of JWT callers, JSON: `{"subjects": {"system:serviceaccount:ns:gateway":
    /// ["audit-writer"]}, "groups": {"ops": ["operator"]}}` (a caller has the roles of its
    /// `sub` and of each of its groups; none: 403).
    #[arg(
        id = "jwt_roles",
        value_name = "JWT_ROLES",
        long = "jwt-roles",
        env = "DS_AUTH__JWT_ROLES",
        default_value = "{}"
    )]
    pub roles: String,

    /// The claim holding the caller's groups (a string or an array of strings).
    #[arg(
        id = "jwt_groups_claim",
        value_name = "JWT_GROUPS_CLAIM",
        long = "jwt-groups-claim",
        env = "DS_AUTH__JWT_GROUPS_CLAIM",
        default_value = "groups"
    )]
    pub groups_claim: String,

    /// Signature algorithms accepted, comma-separated (of RS256, ES256, EdDSA).
    #[arg(
        id = "jwt_algorithms",
        value_name = "JWT_ALGORITHMS",
        long = "jwt-algorithms",
        env = "DS_AUTH__JWT_ALGORITHMS",
        default_value = "RS256,ES256,EdDSA"
    )]
    pub algorithms: String,

    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    #[arg(
        id = "jwt_leeway_secs",
        value_name = "JWT_LEEWAY_SECS",
        long = "jwt-leeway-secs",
        env = "DS_AUTH__JWT_LEEWAY_SECS",
        default_value_t = 30
    )]
    pub leeway_secs: u64,

    /// Least seconds between two fetches of the JWKS (a token naming an unknown key
    /// triggers one, so rotated keys are picked up without letting forged `kid`s hammer the
    /// issuer).
    #[arg(
        id = "jwt_jwks_refetch_secs",
        value_name = "JWT_JWKS_REFETCH_SECS",
        long = "jwt-jwks-refetch-secs",
        env = "DS_AUTH__JWT_JWKS_REFETCH_SECS",
        default_value_t = 30
    )]
    pub jwks_refetch_secs: u64,

    /// Seconds the fetched keys are used before being fetched again (so a key the issuer
    /// withdrew stops being accepted); a failed fetch keeps the old keys.
    #[arg(
        id = "jwt_jwks_max_age_secs",
        value_name = "JWT_JWKS_MAX_AGE_SECS",
        long = "jwt-jwks-max-age-secs",
        env = "DS_AUTH__JWT_JWKS_MAX_AGE_SECS",
        default_value_t = 300
    )]
    pub jwks_max_age_secs: u64,

    /// Milliseconds a JWKS or discovery request may take.
    #[arg(
        id = "jwt_jwks_timeout_ms",
        value_name = "JWT_JWKS_TIMEOUT_MS",
        long = "jwt-jwks-timeout-ms",
        env = "DS_AUTH__JWT_JWKS_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub jwks_timeout_ms: u64,

    /// PEM file of CAs trusted for the issuer's https discovery and JWKS endpoints, beyond the
    /// system's store (in Kubernetes, the cluster CA, `ca.crt` of the service account's mount).
    #[arg(
        id = "jwt_ca_file",
        value_name = "JWT_CA_FILE",
        long = "jwt-ca-file",
        env = "DS_AUTH__JWT_CA_FILE"
    )]
    pub ca_file: Option<std::path::PathBuf>,
}
