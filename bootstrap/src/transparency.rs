//! The transparency log's signing key, and the `log` subcommands a verifier runs against a
//! service: nothing here trusts the service's database, only its signed checkpoints.

use std::path::{Path, PathBuf};

use datastorage_domain::log::checkpoint::{Checkpoint, open_checkpoint};
use datastorage_domain::log::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use datastorage_domain::log::note::{NoteSigner, NoteVerifier};
use datastorage_domain::log::{Hash, jcs};
use serde::Deserialize;

use crate::StartupError;
use crate::settings::AuditLogSettings;

/// The signer of the log's checkpoints: from the key file, or made now.
///
/// # Errors
/// The key file cannot be read or does not hold a signed-note Ed25519 private key.
pub fn signer(settings: &AuditLogSettings) -> Result<NoteSigner, StartupError> {
    const KEY: &str = "DS_AUDIT_LOG__KEY_FILE";
    let invalid = |reason: String| StartupError::Setting { key: KEY, reason };
    let Some(path) = &settings.key_file else {
        let signer = fresh_signer(&settings.origin).map_err(|reason| StartupError::Setting {
            key: "DS_AUDIT_LOG__ORIGIN",
            reason,
        })?;
        tracing::warn!(
            vkey = %signer.verifier_key().vkey(),
            "no DS_AUDIT_LOG__KEY_FILE: made a new signing key for the transparency log; \
             checkpoints of other runs do not verify with this one"
        );
        return Ok(signer);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    NoteSigner::from_private_key_text(text.trim())
        .map_err(|e| invalid(format!("{}: {e}", path.display())))
}

fn fresh_signer(origin: &str) -> Result<NoteSigner, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness for a key: {e}"))?;
    NoteSigner::new(origin, seed).map_err(|e| e.to_string())
}

/// `datastorage log keygen`: (private key text, vkey).
///
/// # Errors
/// The origin is not a valid key name.
pub fn keygen(origin: &str) -> Result<(String, String), String> {
    let signer = fresh_signer(origin)?;
    Ok((signer.private_key_text(), signer.verifier_key().vkey()))
}

/// Why `log verify` failed; each names what it could not prove.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("invalid vkey: {0}")]
    Vkey(String),
    #[error("checkpoint {path}: {reason}")]
    Saved { path: PathBuf, reason: String },
    #[error("the service's checkpoint: {0}")]
    Current(String),
    #[error(
        "checkpoint {path} (tree size {old}) is not consistent with the service's current \
         checkpoint (tree size {new}): {reason}"
    )]
    Inconsistent {
        path: PathBuf,
        old: u64,
        new: u64,
        reason: String,
    },
    #[error("event {event_id} (log_index {index}): {reason}")]
    Inclusion {
        event_id: String,
        index: u64,
        reason: String,
    },
    #[error("request to the service failed: {0}")]
    Http(String),
}

/// What `log verify` proved.
#[derive(Debug)]
pub struct VerifyReport {
    pub current: Checkpoint,
    pub consistent_from: Option<u64>,
    pub inclusions: usize,
    /// Where the current checkpoint was written.
    pub saved: Option<PathBuf>,
}

pub struct VerifyRequest<'a> {
    pub vkey: &'a str,
    pub checkpoint: Option<&'a Path>,
    pub url: &'a str,
    pub token: Option<&'a str>,
    pub sample: u32,
    pub save: Option<&'a Path>,
    /// Instead of `checkpoint` and `save`: the newest checkpoint archived here is checked
    /// against, and the current one is added.
    pub archive_dir: Option<&'a Path>,
}

/// Archived checkpoints are named `<tree size, 20 digits>-<unix seconds>.checkpoint`, so the
/// last name in order is the largest tree, the latest signed among equals.
fn newest_archived(dir: &Path) -> Result<Option<PathBuf>, VerifyError> {
    let entries = std::fs::read_dir(dir).map_err(|e| VerifyError::Saved {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "checkpoint"))
        .max())
}

fn archive_name(dir: &Path, checkpoint: &Checkpoint) -> PathBuf {
    let at = checkpoint.timestamp().map_or(0, |t| t.timestamp());
    dir.join(format!("{:020}-{at}.checkpoint", checkpoint.size))
}

struct Client<'a> {
    http: reqwest::Client,
    base: String,
    token: Option<&'a str>,
}

impl Client<'_> {
    async fn get(&self, path: &str) -> Result<reqwest::Response, VerifyError> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| VerifyError::Http(format!("GET {path}: {e}")))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(VerifyError::Http(format!("GET {path}: {status}: {body}")));
        }
        Ok(response)
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, VerifyError> {
        self.get(path)
            .await?
            .json()
            .await
            .map_err(|e| VerifyError::Http(format!("GET {path}: {e}")))
    }
}

#[derive(Deserialize)]
struct Proof {
    #[serde(default)]
    leaf_hash: String,
    #[serde(default)]
    audit_path: Vec<String>,
    #[serde(default)]
    consistency_path: Vec<String>,
}

fn hashes(texts: &[String]) -> Result<Vec<Hash>, String> {
    texts
        .iter()
        .map(|t| Hash::from_base64(t).ok_or_else(|| format!("{t:?} is not a base64 SHA-256")))
        .collect()
}

/// `datastorage log verify`.
///
/// # Errors
/// Whatever could not be proved, naming the checkpoint or event.
pub async fn verify(request: VerifyRequest<'_>) -> Result<VerifyReport, VerifyError> {
    let verifier = NoteVerifier::from_vkey(request.vkey.trim())
        .map_err(|e| VerifyError::Vkey(e.to_string()))?;
    let client = Client {
        http: reqwest::Client::new(),
        base: request.url.trim_end_matches('/').to_owned(),
        token: request.token,
    };
    let note = client
        .get("/api/v1/audit/log/checkpoint")
        .await?
        .text()
        .await
        .map_err(|e| VerifyError::Http(e.to_string()))?;
    let current = open_checkpoint(&note, &verifier, Some(verifier.name()))
        .map_err(|e| VerifyError::Current(e.to_string()))?;

    let archived = match request.archive_dir {
        Some(dir) => newest_archived(dir)?,
        None => None,
    };
    let mut consistent_from = None;
    if let Some(path) = request.checkpoint.or(archived.as_deref()) {
        let saved = |reason: String| VerifyError::Saved {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| saved(e.to_string()))?;
        let old = open_checkpoint(&text, &verifier, Some(verifier.name()))
            .map_err(|e| saved(e.to_string()))?;
        let inconsistent = |reason: String| VerifyError::Inconsistent {
            path: path.to_owned(),
            old: old.size,
            new: current.size,
            reason,
        };
        if old.size > current.size {
            return Err(inconsistent(
                "the log is smaller than it was: it was rolled back or replaced".into(),
            ));
        }
        if old.size > 0 {
            let proof: Proof = client
                .json(&format!(
                    "/api/v1/audit/log/proof/consistency?first={}&second={}",
                    old.size, current.size
                ))
                .await
                .map_err(|e| inconsistent(e.to_string()))?;
            let path_hashes = hashes(&proof.consistency_path).map_err(&inconsistent)?;
            verify_consistency(
                old.size,
                current.size,
                &old.root,
                &current.root,
                &path_hashes,
            )
            .map_err(|e| inconsistent(e.to_string()))?;
        }
        consistent_from = Some(old.size);
    }

    let inclusions = verify_sample(&client, &current, request.sample).await?;
    let save = match request.archive_dir {
        Some(dir) => Some(archive_name(dir, &current)),
        None => request.save.map(Path::to_owned),
    };
    if let Some(path) = &save {
        std::fs::write(path, &note).map_err(|e| VerifyError::Saved {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(VerifyReport {
        current,
        consistent_from,
        inclusions,
        saved: save,
    })
}

/// Proves the newest `sample` sequenced events are in the current tree, each leaf hash
/// recomputed here from the event as read.
async fn verify_sample(
    client: &Client<'_>,
    current: &Checkpoint,
    sample: u32,
) -> Result<usize, VerifyError> {
    #[derive(Deserialize)]
    struct Page {
        data: Vec<serde_json::Map<String, serde_json::Value>>,
    }
    if sample == 0 || current.size == 0 {
        return Ok(0);
    }
    let page: Page = client
        .json(&format!(
            "/api/v1/audit/events?limit={}&include_total=false",
            sample.min(1000)
        ))
        .await?;
    let mut proved = 0;
    for mut event in page.data {
        let Some(index) = event.remove("log_index").and_then(|v| v.as_u64()) else {
            continue;
        };
        if index >= current.size {
            continue;
        }
        let event_id = event
            .get("event_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let failed = |reason: String| VerifyError::Inclusion {
            event_id: event_id.clone(),
            index,
            reason,
        };
        let leaf = leaf_hash(&jcs::canonicalize(&serde_json::Value::Object(
            event.clone(),
        )));
        let proof: Proof = client
            .json(&format!(
                "/api/v1/audit/log/proof/inclusion?event_id={event_id}&tree_size={}",
                current.size
            ))
            .await
            .map_err(|e| failed(e.to_string()))?;
        if Hash::from_base64(&proof.leaf_hash) != Some(leaf) {
            return Err(failed(
                "the event as read does not hash to the leaf the log holds".into(),
            ));
        }
        let path = hashes(&proof.audit_path).map_err(&failed)?;
        verify_inclusion(index, current.size, &leaf, &path, &current.root)
            .map_err(|e| failed(e.to_string()))?;
        proved += 1;
    }
    Ok(proved)
}
