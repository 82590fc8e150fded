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

pub(crate) fn to_repository_error(e: sqlx::Error) -> RepositoryError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // Class 22 (data exception) and 23 (integrity constraint): the data itself is
            // refused, so retrying cannot help.
            let permanent = code.starts_with("22") || code.starts_with("23");
            let cause = Cause::new(Refused { code, source: e });
            if permanent {
                RepositoryError::Rejected(cause)
            } else {
                RepositoryError::Unavailable(cause)
            }
        }
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Decode(_) => RepositoryError::Corrupt(Cause::new(e)),
        _ => RepositoryError::Unavailable(Cause::new(e)),
    }
}
