//! The port conformance suites, once per adapter: `memory::*` and `postgres::*` run the very
//! same cases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
