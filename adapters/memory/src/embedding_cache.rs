//! A bounded LRU embedding cache in process memory, with per-entry expiry.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datastorage_application::ports::{CacheError, CacheKey, EmbeddingCache};
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use datastorage_domain::workflow::WorkflowId;

type Key = (EmbeddingModel, String);

struct Entry {
    embedding: Embedding,
    workflows: HashSet<WorkflowId>,
    expires: Instant,
    used: u64,
}

#[derive(Default)]
struct State {
    clock: u64,
    entries: HashMap<Key, Entry>,
    /// Last use → key, oldest first: the eviction order.
    by_use: BTreeMap<u64, Key>,
}

impl State {
    fn touch(&mut self, key: &Key) {
        self.clock += 1;
        let now = self.clock;
        if let Some(e) = self.entries.get_mut(key) {
            self.by_use.remove(&e.used);
            e.used = now;
            self.by_use.insert(now, key.clone());
        }
    }

    fn remove(&mut self, key: &Key) -> bool {
        match self.entries.remove(key) {
            Some(e) => {
                self.by_use.remove(&e.used);
                true
            }
            None => false,
        }
    }
}

pub struct MemoryEmbeddingCache {
    state: Mutex<State>,
    capacity: usize,
}

impl MemoryEmbeddingCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn key_of(k: &CacheKey) -> Key {
    (k.model.clone(), k.text_sha256.clone())
}

#[async_trait]
impl EmbeddingCache for MemoryEmbeddingCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<Embedding>, CacheError> {
        let mut state = self.lock();
        let key = key_of(key);
        let expired = state
            .entries
            .get(&key)
            .is_some_and(|e| e.expires <= Instant::now());
        if expired {
            state.remove(&key);
            return Ok(None);
        }
        let hit = state.entries.get(&key).map(|e| e.embedding.clone());
        if hit.is_some() {
            state.touch(&key);
        }
        Ok(hit)
    }

    async fn put(
        &self,
        key: &CacheKey,
        embedding: &Embedding,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let mut state = self.lock();
        let k = key_of(key);
        let mut workflows = state
            .entries
            .get(&k)
            .map(|e| e.workflows.clone())
            .unwrap_or_default();
        workflows.extend(key.workflow);
        state.remove(&k);
        while state.entries.len() >= self.capacity {
            let Some((_, oldest)) = state.by_use.pop_first() else {
                break;
            };
            state.entries.remove(&oldest);
        }
        state.entries.insert(
            k.clone(),
            Entry {
                embedding: embedding.clone(),
                workflows,
                expires: Instant::now() + ttl,
                used: 0,
            },
        );
        state.touch(&k);
        Ok(())
    }

    async fn invalidate_workflow(&self, id: WorkflowId) -> Result<u64, CacheError> {
        let mut state = self.lock();
        let doomed: Vec<Key> = state
            .entries
            .iter()
            .filter(|(_, e)| e.workflows.contains(&id))
            .map(|(k, _)| k.clone())
            .collect();
        Ok(doomed.iter().filter(|k| state.remove(k)).count() as u64)
    }

    async fn invalidate_all(&self) -> Result<u64, CacheError> {
        let mut state = self.lock();
        let n = state.entries.len() as u64;
        state.entries.clear();
        state.by_use.clear();
        Ok(n)
    }
}
