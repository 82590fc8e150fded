//! sqlx errors → the port's error type, by SQLSTATE.

use datastorage_application::ports::{Cause, RepositoryError};

/// PostgreSQL reports a row with no partition as a check violation with this message.
pub(crate) fn is_missing_partition(e: &sqlx::Error) -> bool {
    // Citus relays a worker's refusal of a COPY row as XX000 with the worker's message.
    matches!(e, sqlx::Error::Database(db)
        if matches!(db.code().as_deref(), Some("23514" | "XX000"))
            && db.message().starts_with("no partition of relation"))
}

/// A statement PostgreSQL refused, with its SQLSTATE (the log's first clue) before sqlx's
/// own error, which stays the source.
#[derive(Debug)]
struct Refused {
    code: String,
    source: sqlx::Error,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PostgreSQL refused the statement (SQLSTATE {})",
            self.code
        )
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// What a failed statement means for its caller: the one SQLSTATE table of the service
/// (DESIGN.md §3.7). Every port's error of this adapter is made from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Trying again later may help, and nothing was written: the server reported the failure
    /// (its transaction is rolled back) or was never reached.
    Transient,
    /// Trying again later may help, but no answer came: a write may have happened.
    Unanswered,
    /// The data is refused for good (classes 22 and 23).
    Data,
    /// Neither transient nor the data's: a fault of ours or of the deployment (a missing
    /// grant, a statement the engine cannot plan, a bug).
    Fault,
    /// A row could not be read as the code expects.
    Decode,
}

/// The SQLSTATE table.
pub fn classify_sqlstate(code: &str) -> Failure {
    match code.get(..2).unwrap_or("") {
        // 08 connection exception, 53 insufficient resources, 58 system error (I/O).
        "08" | "53" | "58" => Failure::Transient,
        // 22 data exception, 23 integrity constraint violation.
        "22" | "23" => Failure::Data,
        _ => match code {
            // Serialization failure, deadlock, lock not available, the server shutting down
            // or restarting, a statement cancelled (statement_timeout): the transaction was
            // rolled back and may succeed when tried again.
            "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03" | "57014" => {
                Failure::Transient
            }
            // A read-only transaction: a managed database's failover briefly routes writes to
            // the demoted primary; the endpoint moves to the new one within seconds.
            "25006" => Failure::Transient,
            // The server lost track of whether the transaction committed.
            "40003" => Failure::Unanswered,
            _ => Failure::Fault,
        },
    }
}

/// What `e` means for its caller (the SQLSTATE table for a statement the server refused).
pub fn classify(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Database(db) => classify_sqlstate(db.code().as_deref().unwrap_or("")),
        // No connection could be had: nothing was sent.
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Failure::Transient,
        // BEGIN left the connection outside a transaction: the connection came back from a
        // write cancelled at its deadline in a state the pool did not catch (seen by the
        // fault suite's hung PostgreSQL). Nothing of this attempt ran.
        sqlx::Error::BeginFailed => Failure::Transient,
        // The connection broke or spoke nonsense: whatever was sent may have run.
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Failure::Unanswered,
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Decode(_) => Failure::Decode,
        _ => Failure::Fault,
    }
}

/// A failed statement as the audit port's error, by [`classify`]. A fault is counted (by
/// SQLSTATE) here, where it is still known; the HTTP layer logs its cause with the 500.
pub(crate) fn to_repository_error(e: sqlx::Error) -> RepositoryError {
    let failure = classify(&e);
    let code = match &e {
        sqlx::Error::Database(db) => Some(db.code().map(|c| c.into_owned()).unwrap_or_default()),
        _ => None,
    };
    if failure == Failure::Fault {
        let sqlstate = code.clone().unwrap_or_else(|| "none".to_owned());
        metrics::counter!("datastorage_storage_faults_total", "sqlstate" => sqlstate).increment(1);
    }
    let cause = match code {
        Some(code) => Cause::new(Refused { code, source: e }),
        None => Cause::new(e),
    };
    match failure {
        Failure::Transient => RepositoryError::Unavailable(cause),
        Failure::Unanswered => RepositoryError::OutcomeUnknown(cause),
        Failure::Data => RepositoryError::Rejected(cause),
        Failure::Fault => RepositoryError::Fault(cause),
        Failure::Decode => RepositoryError::Corrupt(cause),
    }
}

/// A write's failure before its `COMMIT` was sent: the server rolls the transaction back,
/// whether it reported an error or the connection dropped, so nothing was written even when
/// no answer came.
pub(crate) fn uncommitted(e: sqlx::Error) -> RepositoryError {
    match to_repository_error(e) {
        RepositoryError::OutcomeUnknown(cause) => RepositoryError::Unavailable(cause),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlstate_table_sorts_every_class_of_design_3_7() {
        for transient in [
            "08000", "08006", "08P01", "40001", "40P01", "53100", "53300", "55P03", "57P01",
            "57P02", "57P03", "57014", "58000", "58030", "25006",
        ] {
            assert_eq!(
                classify_sqlstate(transient),
                Failure::Transient,
                "{transient}"
            );
        }
        for data in ["22001", "22P02", "23502", "23503", "23505", "23514"] {
            assert_eq!(classify_sqlstate(data), Failure::Data, "{data}");
        }
        assert_eq!(classify_sqlstate("40003"), Failure::Unanswered);
        for fault in [
            "0A000", "42501", "42P01", "42883", "2BP01", "3D000", "3F000", "XX000", "25P02", "",
        ] {
            assert_eq!(classify_sqlstate(fault), Failure::Fault, "{fault}");
        }
    }

    #[test]
    fn a_pool_timeout_wrote_nothing_and_a_broken_connection_may_have() {
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), Failure::Transient);
        assert_eq!(classify(&sqlx::Error::BeginFailed), Failure::Transient);
        let reset = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(classify(&reset), Failure::Unanswered);
        assert!(matches!(
            uncommitted(reset),
            RepositoryError::Unavailable(_)
        ));
        let reset = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(matches!(
            to_repository_error(reset),
            RepositoryError::OutcomeUnknown(_)
        ));
    }
}
