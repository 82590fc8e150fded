//! Use-case: compare two versions of a workflow field by field.

use datastorage_domain::workflow::{FieldChange, Workflow, diff_versions};

use super::CatalogService;
use crate::error::WorkflowError;

impl CatalogService {
    pub async fn diff(
        &self,
        name: &str,
        from: &str,
        to: &str,
    ) -> Result<(Workflow, Workflow, Vec<FieldChange>), WorkflowError> {
        let a = self.version(name, from).await?;
        let b = self.version(name, to).await?;
        let changes = diff_versions(&a, &b);
        Ok((a, b, changes))
    }
}
