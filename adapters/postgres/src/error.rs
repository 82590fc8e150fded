//! sqlx errors → the port's error type, by SQLSTATE.

use datastorage_application::ports::RepositoryError;

/// PostgreSQL reports a row with no partition as a check violation with this message.
pub(crate) fn is_missing_partition(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.code().as_deref() == Some("23514") && db.message().starts_with("no partition of relation"))
}

pub(crate) fn to_repository_error(e: sqlx::Error) -> RepositoryError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // Class 22 (data exception) and 23 (integrity constraint): the data itself is
            // refused, so retrying cannot help.
            if code.starts_with("22") || code.starts_with("23") {
                RepositoryError::Rejected(format!("{} (SQLSTATE {code})", db.message()))
            } else {
                RepositoryError::Unavailable(format!("{} (SQLSTATE {code})", db.message()))
            }
        }
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Decode(_) => RepositoryError::Corrupt(e.to_string()),
        _ => RepositoryError::Unavailable(e.to_string()),
    }
}
