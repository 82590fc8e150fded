//! TLS to the stores and services the process reaches (PostgreSQL, Redis, the HTTP embedder,
//! a JWKS or OTLP endpoint): rustls everywhere, with the ring provider. ring builds from a
//! little C and assembly with the machine's gcc, and sqlx's rustls path uses it already;
//! aws-lc-rs, rustls's default, compiles all of AWS-LC (a much longer build on two cores,
//! for a second copy of the crypto code). What ring lacks is the post-quantum hybrid key
//! exchange (rustls 0.23.48 deprecates its provider for that reason); the key exchange is
//! X25519 or ECDHE, as libpq and most managed stores negotiate today.

use crate::StartupError;

/// Makes ring the process's rustls provider. Crates that build their own client config from
/// the process default (redis-rs, reqwest) need one installed; the first call wins and a
/// second is a no-op, so every entry point (and every in-process test app) may call it.
pub fn install_crypto_provider() {
    // Err means one is installed already: ours, by an earlier call.
    #[allow(deprecated)] // Chosen deliberately, see the module's documentation.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A failed PostgreSQL connect; when TLS was what failed, the message names the settings
/// that decide it.
pub(crate) fn database_connect_error(e: datastorage_postgres::PgError) -> StartupError {
    if datastorage_postgres::is_tls_failure(&e) {
        StartupError::Setting {
            key: "DS_DATABASE__SSL_ROOT_CERT",
            reason: format!(
                "TLS to PostgreSQL failed: {e}. The server's certificate must chain to a CA in \
                 DS_DATABASE__SSL_ROOT_CERT (or the URL's sslrootcert) or the system's store, \
                 and with DS_DATABASE__SSL_MODE=verify-full name the host of DATABASE_URL"
            ),
        }
    } else {
        StartupError::Database(e.to_string())
    }
}

/// An HTTP client (rustls) that trusts the system's store and the CAs of `ca_file`, each
/// request bounded by `timeout`: every outbound HTTP client of the process (the embedder,
/// JWKS, OTLP) is made here. The error names the file.
///
/// # Errors
/// The CA file cannot be read or holds no PEM certificate.
pub fn http_client(
    timeout: std::time::Duration,
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().timeout(timeout);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("CA file {}: {e}", path.display()))?;
        if certificates.is_empty() {
            return Err(format!(
                "CA file {} holds no PEM certificate",
                path.display()
            ));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| e.to_string())
}
