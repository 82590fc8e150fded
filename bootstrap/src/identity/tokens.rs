//! The tokens file, re-read when its content changes: checked every few seconds, swapped
//! whole when valid. A file that turns invalid (or unreadable) keeps the table held, with an
//! error logged and counted once per distinct content, so a bad edit never locks everyone out.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use datastorage_http::auth::{TokenTable, TokensFileError};
use sha2::{Digest, Sha256};

/// What a check of the tokens file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokensReload {
    /// Same content as last checked.
    Unchanged,
    /// A new table is in use.
    Reloaded { tokens: usize },
    /// The new content is not usable; the previous table stays.
    Refused(String),
}

pub struct TokensFile {
    path: PathBuf,
    table: RwLock<Arc<TokenTable>>,
    /// What was last read: the content's digest, or the read error.
    seen: Mutex<String>,
}

/// The content's mark: what decides whether anything changed.
fn read(path: &Path) -> (String, Result<String, String>) {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mark = format!("{:x}", Sha256::digest(&bytes));
            let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned());
            (mark, text)
        }
        Err(e) => (format!("unreadable: {e}"), Err(e.to_string())),
    }
}

impl TokensFile {
    /// Reads it the first time.
    ///
    /// # Errors
    /// When the file cannot be read or is not a valid tokens file.
    pub fn load(path: &Path) -> Result<Self, TokensFileError> {
        let (mark, text) = read(path);
        let text = text.map_err(|reason| TokensFileError {
            path: path.display().to_string(),
            reason,
        })?;
        let table = TokenTable::parse(&text, path)?;
        Ok(Self {
            path: path.to_owned(),
            table: RwLock::new(Arc::new(table)),
            seen: Mutex::new(mark),
        })
    }

    /// The table in use.
    pub fn current(&self) -> Arc<TokenTable> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the file and swaps the table if its content changed and is valid.
    pub fn check(&self) -> TokensReload {
        // Read under the lock, so two checks at once cannot swap in an older content last.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (mark, text) = read(&self.path);
        if *seen == mark {
            return TokensReload::Unchanged;
        }
        *seen = mark;
        let parsed = text.and_then(|t| TokenTable::parse(&t, &self.path).map_err(|e| e.reason));
        match parsed {
            Ok(table) => {
                let tokens = table.len();
                *self.table.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
                metrics::counter!("datastorage_auth_tokens_reloads_total").increment(1);
                tracing::info!(path = %self.path.display(), tokens, "tokens file reloaded");
                TokensReload::Reloaded { tokens }
            }
            Err(reason) => {
                metrics::counter!("datastorage_auth_tokens_reload_failures_total").increment(1);
                tracing::error!(path = %self.path.display(), %reason,
                    "tokens file changed but is not valid; the previous tokens stay in use");
                TokensReload::Refused(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn file(text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("tokens-{}.json", uuid::Uuid::now_v7()));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn entry(identity: &str) -> String {
        format!(
            r#"{{"identity": "{identity}", "sha256": "{}", "roles": ["operator"]}}"#,
            datastorage_domain::sha256_hex(identity)
        )
    }

    #[test]
    fn a_changed_file_is_swapped_in_and_a_broken_one_keeps_the_old_table() {
        let path = file(&format!(r#"{{"tokens": [{}]}}"#, entry("a")));
        let tokens = TokensFile::load(&path).unwrap();
        assert_eq!(tokens.check(), TokensReload::Unchanged);
        std::fs::write(
            &path,
            format!(r#"{{"tokens": [{}, {}]}}"#, entry("b"), entry("c")),
        )
        .unwrap();
        assert_eq!(tokens.check(), TokensReload::Reloaded { tokens: 2 });
        assert!(tokens.current().find("a").is_none());
        assert_eq!(tokens.current().find("b").unwrap().identity, "b");
        std::fs::write(&path, r#"{"tokens": [{"identity": "x""#).unwrap();
        assert!(matches!(tokens.check(), TokensReload::Refused(_)));
        assert_eq!(
            tokens.check(),
            TokensReload::Unchanged,
            "refused once per content"
        );
        assert!(tokens.current().find("b").is_some(), "the old table stays");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(tokens.check(), TokensReload::Refused(_)));
        assert!(tokens.current().find("c").is_some());
    }
}
