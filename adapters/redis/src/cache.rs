//! `RedisEmbeddingCache`: embeddings as little-endian f32 bytes under
//! `<prefix>:v1:emb:<model>:<sha256>` with a TTL; a set `<prefix>:v1:emb-wf:<workflow_id>`
//! lists the keys tagged with a workflow, so invalidating it is one `SMEMBERS` + `DEL`.
//!
//! On a Redis Cluster an entry and its workflow's set are in different slots (an entry is
//! shared by every workflow with the same text), so no command or pipeline spans them: a put
//! sets the entry, then tags it; an invalidation deletes key by key; "everything" is a `SCAN`
//! of every master.

use std::time::Duration;

use async_trait::async_trait;
use datastorage_application::ports::{CacheError, CacheKey, EmbeddingCache};
use datastorage_domain::embedding::Embedding;
use datastorage_domain::workflow::WorkflowId;
use redis::Value;

use crate::cluster::Node;
use crate::connection::{LazyConn, RedisConn, RedisEndpoint};

pub struct RedisEmbeddingCache {
    /// Connects on first use: the cache is an optimisation, and a Redis that is down at
    /// start only costs misses until it is up.
    conn: LazyConn,
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
    async fn conn(&self) -> Result<RedisConn, CacheError> {
        self.conn.get().await.map_err(down)
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
        let mut conn = self.conn().await?;
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
        let mut conn = self.conn().await?;
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
            if conn.is_cluster() {
                // The set is in another slot: the entry first, so a set never names an
                // entry that was not written.
                let _: () = pipe.query_async(&mut conn).await.map_err(down)?;
                pipe = redis::pipe();
            }
            let tag = self.tag_key(id);
            pipe.cmd("SADD").arg(&tag).arg(&entry).ignore();
            pipe.cmd("PEXPIRE").arg(&tag).arg(ttl_ms).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.map_err(down)?;
        Ok(())
    }

    async fn invalidate_workflow(&self, id: WorkflowId) -> Result<u64, CacheError> {
        let mut conn = self.conn().await?;
        let tag = self.tag_key(id);
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&tag)
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        let removed = delete(&mut conn, &members).await?;
        let _: u64 = redis::cmd("DEL")
            .arg(&tag)
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        Ok(removed)
    }

    async fn invalidate_all(&self) -> Result<u64, CacheError> {
        let mut conn = self.conn().await?;
        // A single server is its own only "master"; a cluster's keys are spread over all.
        let masters = conn.masters().await.map_err(down)?;
        let nodes: Vec<Option<Node>> = if masters.is_empty() {
            vec![None]
        } else {
            masters.into_iter().map(Some).collect()
        };
        let mut removed = 0u64;
        for node in &nodes {
            for pattern in [
                format!("{}:emb:*", self.prefix),
                format!("{}:emb-wf:*", self.prefix),
            ] {
                let mut cursor = "0".to_owned();
                loop {
                    let mut scan = redis::cmd("SCAN");
                    scan.arg(&cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000);
                    let reply = match node {
                        Some(node) => conn.on_node(scan, node).await,
                        None => scan.query_async(&mut conn).await,
                    }
                    .map_err(down)?;
                    let (next, keys) = scan_page(&reply);
                    let n = delete(&mut conn, &keys).await?;
                    if pattern.contains(":emb:") {
                        removed += n;
                    }
                    if next == "0" {
                        break;
                    }
                    cursor = next;
                }
            }
        }
        Ok(removed)
    }
}

/// A `SCAN` reply's next cursor and keys.
fn scan_page(reply: &Value) -> (String, Vec<Vec<u8>>) {
    match reply {
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
    }
}

/// Deletes `keys`; how many existed. On a single server one `DEL`; on a cluster one `DEL`
/// per key (they are in different slots), each sent to its key's master.
async fn delete<K: redis::ToSingleRedisArg + redis::ToRedisArgs>(
    conn: &mut RedisConn,
    keys: &[K],
) -> Result<u64, CacheError> {
    if keys.is_empty() {
        return Ok(0);
    }
    if !conn.is_cluster() {
        return redis::cmd("DEL")
            .arg(keys)
            .query_async(conn)
            .await
            .map_err(down);
    }
    let mut removed = 0;
    for key in keys {
        let n: u64 = redis::cmd("DEL")
            .arg(key)
            .query_async(conn)
            .await
            .map_err(down)?;
        removed += n;
    }
    Ok(removed)
}
