//! Use-case: read one audit event by id.

use datastorage_domain::audit::{AuditEvent, EventId};

use super::AuditService;
use crate::error::AuditError;

impl AuditService {
    pub async fn get(&self, id: EventId) -> Result<AuditEvent, AuditError> {
        self.repository
            .get(id)
            .await?
            .ok_or(AuditError::NotFound(id))
    }
}
