//! `RedisEmbeddingCache`: embeddings as little-endian f32 bytes under
//! `<prefix>:v1:emb:<model>:<sha256>` with a TTL; a set `<prefix>:v1:emb-wf:<workflow_id>`
//! lists the keys tagged with a workflow, so invalidating it is one `SMEMBERS` + `DEL`.

use std::time::Duration;

use async_trait::async_trait;
use datastorage_application::ports::{CacheError, CacheKey, EmbeddingCache};
use datastorage_domain::embedding::Embedding;
use datastorage_domain::workflow::WorkflowId;
use redis::Value;
use redis::aio::ConnectionManager;

use crate::connection::{RedisEndpoint, Resilient};

pub struct RedisEmbeddingCache {
    /// Connects on first use: the cache is an optimisation, and a Redis that is down at
    /// start only costs misses until it is up.
    conn: ConnectionManager,
    prefix: String,
}

fn down(e: impl std::fmt::Display) -> CacheError {
    CacheError(e.to_string())
}

impl RedisEmbeddingCache {
    /// # Errors
    /// When the URL or the TLS files are invalid.
    pub fn new(endpoint: &RedisEndpoint, key_prefix: &str) -> Result<Self, CacheError> {
        Ok(Self {
            conn: endpoint.lazy_connection().map_err(down)?,
            prefix: format!("{key_prefix}:v1"),
        })
    }

    /// A handle on the shared connection (a clone, not a checkout).
    fn conn(&self) -> Resilient {
        Resilient(self.conn.clone())
    }

    fn entry_key(&self, k: &CacheKey) -> String {
        format!("{}:emb:{}:{}", self.prefix, k.model, k.text_sha256)
    }

    fn tag_key(&self, id: WorkflowId) -> String {
        format!("{}:emb-wf:{id}", self.prefix)
    }
}

#[async_trait]
impl EmbeddingCache for RedisEmbeddingCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<Embedding>, CacheError> {
        let mut conn = self.conn();
        let raw: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.entry_key(key))
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        let Some(raw) = raw else { return Ok(None) };
        let values: Vec<f32> = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        // A damaged entry is a miss, not an error: the caller re-embeds and overwrites it.
        Ok(Embedding::new(key.model.clone(), values).ok())
    }

    async fn put(
        &self,
        key: &CacheKey,
        embedding: &Embedding,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let mut conn = self.conn();
        let bytes: Vec<u8> = embedding
            .values()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let ttl_ms = ttl.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
        let entry = self.entry_key(key);
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(&entry)
            .arg(bytes)
            .arg("PX")
            .arg(ttl_ms)
            .ignore();
        if let Some(id) = key.workflow {
            let tag = self.tag_key(id);
            pipe.cmd("SADD").arg(&tag).arg(&entry).ignore();
            pipe.cmd("PEXPIRE").arg(&tag).arg(ttl_ms).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.map_err(down)?;
        Ok(())
    }

    async fn invalidate_workflow(&self, id: WorkflowId) -> Result<u64, CacheError> {
        let mut conn = self.conn();
        let tag = self.tag_key(id);
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&tag)
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        let removed: u64 = if members.is_empty() {
            0
        } else {
            redis::cmd("DEL")
                .arg(&members)
                .query_async(&mut conn)
                .await
                .map_err(down)?
        };
        let _: u64 = redis::cmd("DEL")
            .arg(&tag)
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        Ok(removed)
    }

    async fn invalidate_all(&self) -> Result<u64, CacheError> {
        let mut conn = self.conn();
        let mut removed = 0u64;
        for pattern in [
            format!("{}:emb:*", self.prefix),
            format!("{}:emb-wf:*", self.prefix),
        ] {
            let mut cursor = "0".to_owned();
            loop {
                let reply: Value = redis::cmd("SCAN")
                    .arg(&cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await
                    .map_err(down)?;
                let (next, keys) = match &reply {
                    Value::Array(parts) if parts.len() == 2 => {
                        let next = match &parts[0] {
                            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                            Value::SimpleString(s) => s.clone(),
                            _ => "0".into(),
                        };
                        let keys: Vec<Vec<u8>> = match &parts[1] {
                            Value::Array(ks) => ks
                                .iter()
                                .filter_map(|k| match k {
                                    Value::BulkString(b) => Some(b.clone()),
                                    _ => None,
                                })
                                .collect(),
                            _ => Vec::new(),
                        };
                        (next, keys)
                    }
                    _ => ("0".into(), Vec::new()),
                };
                if !keys.is_empty() {
                    let n: u64 = redis::cmd("DEL")
                        .arg(&keys)
                        .query_async(&mut conn)
                        .await
                        .map_err(down)?;
                    if pattern.contains(":emb:") {
                        removed += n;
                    }
                }
                if next == "0" {
                    break;
                }
                cursor = next;
            }
        }
        Ok(removed)
    }
}
