//! The port conformance suites, once per adapter: `memory::*` and `postgres::*` run the very
//! same cases.

mod memory {
    datastorage_tests::audit_repository_conformance!(
        datastorage_tests::support::memory_repository()
    );
}

mod postgres {
    datastorage_tests::audit_repository_conformance!(
        datastorage_tests::support::postgres_repository()
    );
}

mod memory_remediation {
    datastorage_tests::remediation_reads_conformance!(
        datastorage_tests::support::memory_repository()
    );
}

mod postgres_remediation {
    datastorage_tests::remediation_reads_conformance!(
        datastorage_tests::support::postgres_repository()
    );
}

mod memory_queue {
    datastorage_tests::dead_letter_queue_conformance!(datastorage_tests::support::memory_queues);
}

mod redis_queue {
    datastorage_tests::dead_letter_queue_conformance!(datastorage_tests::support::redis_queues);
}

mod memory_catalog {
    datastorage_tests::workflow_catalog_conformance!(datastorage_tests::support::memory_catalog());
}

mod postgres_catalog {
    datastorage_tests::workflow_catalog_conformance!(datastorage_tests::support::postgres_catalog());
}

mod memory_embedding_cache {
    datastorage_tests::embedding_cache_conformance!(
        datastorage_tests::support::memory_embedding_cache()
    );

    #[tokio::test]
    async fn the_least_recently_used_entry_is_evicted_first() {
        use datastorage_application::ports::{CacheKey, EmbeddingCache};
        use datastorage_domain::embedding::{Embedding, EmbeddingModel};
        use datastorage_domain::sha256_hex;
        let cache = datastorage_memory::MemoryEmbeddingCache::new(2);
        let m = EmbeddingModel::parse("m").unwrap();
        let k = |t: &str| CacheKey {
            model: m.clone(),
            text_sha256: sha256_hex(t),
            workflow: None,
        };
        let v = Embedding::new(m.clone(), vec![1.0]).unwrap();
        let hour = std::time::Duration::from_secs(3600);
        cache.put(&k("a"), &v, hour).await.unwrap();
        cache.put(&k("b"), &v, hour).await.unwrap();
        cache.get(&k("a")).await.unwrap(); // "b" is now the least recently used
        cache.put(&k("c"), &v, hour).await.unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&k("a")).await.unwrap().is_some());
        assert!(cache.get(&k("b")).await.unwrap().is_none());
        assert!(cache.get(&k("c")).await.unwrap().is_some());
    }
}

mod redis_embedding_cache {
    datastorage_tests::embedding_cache_conformance!(
        datastorage_tests::support::redis_embedding_cache()
    );
}

mod memory_log {
    datastorage_tests::audit_log_conformance!(datastorage_tests::support::memory_log());
}

mod postgres_log {
    datastorage_tests::audit_log_conformance!(datastorage_tests::support::postgres_log());
}

mod memory_governance {
    datastorage_tests::governance_conformance!(datastorage_tests::support::memory_governance());
}

mod postgres_governance {
    datastorage_tests::governance_conformance!(datastorage_tests::support::postgres_governance());
}

/// The same suites on a Redis that speaks only TLS and admits one ACL user with a client
/// certificate: every connection the adapters open goes through rustls.
mod redis_tls_queue {
    datastorage_tests::dead_letter_queue_conformance!(datastorage_tests::support::redis_tls_queues);
}

mod redis_tls_embedding_cache {
    datastorage_tests::embedding_cache_conformance!(
        datastorage_tests::support::redis_tls_embedding_cache()
    );
}

/// The same suites on a Redis Cluster of 3 masters and 3 replicas (started by the test
/// process): each queue's streams live on the master of their hash tag's slot, reached by
/// following `MOVED`; every enqueue is acknowledged once a replica has it (`WAIT 1`).
mod redis_cluster_queue {
    datastorage_tests::dead_letter_queue_conformance!(
        datastorage_tests::support::redis_cluster_queues
    );
}

mod redis_cluster_embedding_cache {
    datastorage_tests::embedding_cache_conformance!(
        datastorage_tests::support::redis_cluster_embedding_cache()
    );
}
