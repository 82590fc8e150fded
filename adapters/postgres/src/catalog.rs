//! `PgWorkflowCatalog`: workflow versions in the `workflows` table.
//!
//! Registration runs in one transaction under an advisory lock on the workflow name, so two
//! concurrent registrations of one name see each other: the second finds the first's row
//! (identical → already exists, other content → conflict) or its newer latest version.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datastorage_application::ports::*;
use datastorage_domain::ValidationErrors;
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use datastorage_domain::workflow::*;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

#[derive(Clone)]
pub struct PgWorkflowCatalog {
    pool: PgPool,
}

impl PgWorkflowCatalog {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn unavailable(e: sqlx::Error) -> CatalogError {
    match crate::error::to_repository_error(e) {
        RepositoryError::Corrupt(why) => CatalogError::Corrupt(why),
        RepositoryError::Fault(why) => CatalogError::Fault(why),
        other => CatalogError::Unavailable(Cause::new(other)),
    }
}

/// The columns of a [`WorkflowSummary`], what a search reads: no content, parameters or vector.
macro_rules! summary_columns {
    () => {
        "workflow_id, workflow_name, version, title, description, signal_type, severity, \
         component, environment, priority, detected_labels, custom_labels, container_image, \
         container_digest"
    };
}

const COLUMNS: &str = concat!(
    summary_columns!(),
    ", content, content_hash, parameters, execution_engine, owner, maintainer, version_notes, \
     change_summary, status, status_reason, disabled_at, disabled_by, disabled_reason, \
     is_latest_version, previous_version, created_at, created_by, updated_at, updated_by, \
     embedding::real[] AS embedding_values, embedding_model"
);

#[derive(sqlx::FromRow)]
struct SummaryColumns {
    workflow_id: Uuid,
    workflow_name: String,
    version: String,
    title: String,
    description: String,
    signal_type: String,
    severity: String,
    component: String,
    environment: String,
    priority: String,
    detected_labels: serde_json::Value,
    custom_labels: serde_json::Value,
    container_image: Option<String>,
    container_digest: Option<String>,
}

impl SummaryColumns {
    fn parse(self) -> Result<WorkflowSummary, ValidationErrors> {
        Ok(WorkflowSummary {
            id: WorkflowId::from_uuid(self.workflow_id),
            name: WorkflowName::parse(self.workflow_name)?,
            version: WorkflowVersion::parse(&self.version)?,
            title: self.title,
            description: self.description,
            labels: MandatoryLabels::parse(
                self.signal_type,
                &self.severity,
                self.component,
                self.environment,
                &self.priority,
            )?,
            detected_labels: DetectedLabels::from_json(&self.detected_labels)?,
            custom_labels: CustomLabels::from_json(&self.custom_labels)?,
            container_image: self.container_image,
            container_digest: self.container_digest,
        })
    }
}

fn corrupt(id: Uuid, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Corrupt(Cause::msg(format!("workflow {id}: {e}")))
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    #[sqlx(flatten)]
    summary: SummaryColumns,
    similarity: Option<f64>,
}

impl CandidateRow {
    fn into_candidate(self) -> Result<Candidate, CatalogError> {
        let id = self.summary.workflow_id;
        Ok(Candidate {
            workflow: self.summary.parse().map_err(|e| corrupt(id, e))?,
            similarity: self.similarity,
        })
    }
}

#[derive(sqlx::FromRow)]
struct WorkflowRow {
    #[sqlx(flatten)]
    summary: SummaryColumns,
    content: String,
    content_hash: String,
    parameters: serde_json::Value,
    execution_engine: String,
    owner: Option<String>,
    maintainer: Option<String>,
    version_notes: Option<String>,
    change_summary: Option<String>,
    status: String,
    status_reason: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    disabled_by: Option<String>,
    disabled_reason: Option<String>,
    is_latest_version: bool,
    previous_version: Option<String>,
    created_at: DateTime<Utc>,
    created_by: Option<String>,
    updated_at: DateTime<Utc>,
    updated_by: Option<String>,
    embedding_values: Option<Vec<f32>>,
    embedding_model: Option<String>,
}

impl WorkflowRow {
    fn into_workflow(self) -> Result<Workflow, CatalogError> {
        let id = self.summary.workflow_id;
        let embedding = match (self.embedding_values, self.embedding_model) {
            (Some(values), Some(model)) => Some(
                EmbeddingModel::parse(model)
                    .map_err(|e| e.to_string())
                    .and_then(|m| Embedding::new(m, values).map_err(|e| e.to_string()))
                    .map_err(|e| corrupt(id, format!("embedding: {e}")))?,
            ),
            _ => None,
        };
        let summary = self.summary.parse().map_err(|e| corrupt(id, e))?;
        let status = LifecycleStatus::parse(&self.status).map_err(|e| corrupt(id, e))?;
        Ok(Workflow {
            id: summary.id,
            name: summary.name,
            version: summary.version,
            title: summary.title,
            description: summary.description,
            content: self.content,
            content_hash: self.content_hash,
            labels: summary.labels,
            detected_labels: summary.detected_labels,
            custom_labels: summary.custom_labels,
            parameters: match self.parameters {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            execution_engine: self.execution_engine,
            container_image: summary.container_image,
            container_digest: summary.container_digest,
            owner: self.owner,
            maintainer: self.maintainer,
            version_notes: self.version_notes,
            change_summary: self.change_summary,
            status,
            status_reason: self.status_reason,
            disabled_at: self.disabled_at,
            disabled_by: self.disabled_by,
            disabled_reason: self.disabled_reason,
            is_latest_version: self.is_latest_version,
            previous_version: self.previous_version,
            created_at: self.created_at,
            created_by: self.created_by,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
            embedding,
        })
    }
}

fn rows_into(rows: Vec<WorkflowRow>) -> Result<Vec<Workflow>, CatalogError> {
    rows.into_iter().map(WorkflowRow::into_workflow).collect()
}

async fn select_where(
    executor: impl sqlx::PgExecutor<'_>,
    condition: &str,
    bind: impl FnOnce(&mut QueryBuilder<'_, Postgres>),
) -> Result<Vec<WorkflowRow>, sqlx::Error> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM workflows WHERE {condition}"));
    bind(&mut qb);
    qb.build_query_as().fetch_all(executor).await
}

#[async_trait]
impl WorkflowCatalog for PgWorkflowCatalog {
    async fn register(&self, new: &NewWorkflow) -> Result<RegisterOutcome, CatalogError> {
        let w = &new.0;
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('workflow:' || $1, 0))")
            .bind(w.name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let same_name = rows_into(
            select_where(&mut *tx, "workflow_name = ", |qb| {
                qb.push_bind(w.name.as_str().to_owned());
            })
            .await
            .map_err(unavailable)?,
        )?;
        if let Some(existing) = same_name.iter().find(|e| e.version == w.version) {
            return if existing.registration_hash() == w.registration_hash() {
                Ok(RegisterOutcome::AlreadyExists(existing.clone()))
            } else {
                Err(CatalogError::VersionExists {
                    name: w.name.to_string(),
                    version: existing.version.to_string(),
                })
            };
        }
        let latest = same_name.iter().find(|e| e.is_latest_version);
        if let Some(latest) = latest {
            if w.version <= latest.version {
                return Err(CatalogError::VersionNotIncremented {
                    name: w.name.to_string(),
                    given: w.version.to_string(),
                    latest: latest.version.to_string(),
                });
            }
            sqlx::query!(
                "UPDATE workflows SET is_latest_version = false WHERE workflow_id = $1",
                latest.id.as_uuid()
            )
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        let mut created = w.clone();
        created.is_latest_version = true;
        created.previous_version = latest.map(|l| l.version.to_string());
        let c = &created;
        sqlx::query!(
            r#"INSERT INTO workflows (
                workflow_id, workflow_name, version, version_norm, title, description, content,
                content_hash, signal_type, severity, component, environment, priority,
                detected_labels, custom_labels, parameters, execution_engine, container_image,
                container_digest, owner, maintainer, version_notes, change_summary, status,
                status_reason, disabled_at, disabled_by, disabled_reason, is_latest_version,
                previous_version, registration_hash, created_at, created_by, updated_at, updated_by,
                embedding, embedding_model)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33,
                $34, $35, $36::real[]::vector, $37)"#,
            c.id.as_uuid(),
            c.name.as_str(),
            c.version.as_str(),
            c.version.normalized(),
            c.title,
            c.description,
            c.content,
            c.content_hash,
            c.labels.signal_type,
            c.labels.severity.as_str(),
            c.labels.component.as_str(),
            c.labels.environment.as_str(),
            c.labels.priority.as_str(),
            c.detected_labels.to_json(),
            c.custom_labels.to_json(),
            serde_json::Value::Object(c.parameters.clone()),
            c.execution_engine,
            c.container_image,
            c.container_digest,
            c.owner,
            c.maintainer,
            c.version_notes,
            c.change_summary,
            c.status.as_str(),
            c.status_reason,
            c.disabled_at,
            c.disabled_by,
            c.disabled_reason,
            c.is_latest_version,
            c.previous_version,
            &c.registration_hash()[..],
            c.created_at,
            c.created_by,
            c.updated_at,
            c.updated_by,
            c.embedding.as_ref().map(|e| e.values().to_vec()) as Option<Vec<f32>>,
            c.embedding.as_ref().map(|e| e.model().to_string()),
        )
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(RegisterOutcome::Created(created))
    }

    async fn get(&self, id: WorkflowId) -> Result<Option<Workflow>, CatalogError> {
        let rows = select_where(&self.pool, "workflow_id = ", |qb| {
            qb.push_bind(*id.as_uuid());
        })
        .await
        .map_err(unavailable)?;
        Ok(rows_into(rows)?.into_iter().next())
    }

    async fn versions(&self, name: &WorkflowName) -> Result<Vec<Workflow>, CatalogError> {
        let rows = select_where(&self.pool, "workflow_name = ", |qb| {
            qb.push_bind(name.as_str().to_owned());
        })
        .await
        .map_err(unavailable)?;
        rows_into(rows)
    }

    async fn set_status(&self, change: &StatusChange) -> Result<(Workflow, bool), CatalogError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let rows = select_where(&mut *tx, "workflow_id = ", |qb| {
            qb.push_bind(*change.id.as_uuid()).push(" FOR UPDATE");
        })
        .await
        .map_err(unavailable)?;
        let mut workflow = rows_into(rows)?
            .into_iter()
            .next()
            .ok_or(CatalogError::NotFound(change.id))?;
        let changed = workflow.apply_status(
            change.to,
            change.by.clone(),
            change.reason.clone(),
            change.at,
        )?;
        if changed {
            let w = &workflow;
            sqlx::query!(
                r#"UPDATE workflows SET status = $2, status_reason = $3, disabled_at = $4,
                    disabled_by = $5, disabled_reason = $6, updated_at = $7, updated_by = $8
                WHERE workflow_id = $1"#,
                w.id.as_uuid(),
                w.status.as_str(),
                w.status_reason,
                w.disabled_at,
                w.disabled_by,
                w.disabled_reason,
                w.updated_at,
                w.updated_by,
            )
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)?;
        Ok((workflow, changed))
    }

    async fn list(&self, q: &WorkflowListQuery) -> Result<WorkflowPage, CatalogError> {
        fn filters(qb: &mut QueryBuilder<'_, Postgres>, q: &WorkflowListQuery) {
            if let Some(name) = &q.name {
                qb.push(" AND workflow_name = ")
                    .push_bind(name.as_str().to_owned());
            }
            if let Some(status) = q.status {
                qb.push(" AND status = ").push_bind(status.as_str());
            }
            if q.latest_only {
                qb.push(" AND is_latest_version");
            }
            for (column, value) in [
                ("component", &q.component),
                ("environment", &q.environment),
                ("priority", &q.priority),
            ] {
                if let Some(v) = value {
                    qb.push(format_args!(" AND lower({column}) = lower("))
                        .push_bind(v.clone())
                        .push(")");
                }
            }
        }
        let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM workflows WHERE TRUE"));
        filters(&mut qb, q);
        // Registration only ever adds a greater version, so newest-created is newest-version.
        qb.push(" ORDER BY workflow_name, created_at DESC, workflow_id LIMIT ")
            .push_bind(i64::from(q.limit))
            .push(" OFFSET ")
            .push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
        let rows: Vec<WorkflowRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        let mut count = QueryBuilder::new("SELECT count(*) FROM workflows WHERE TRUE");
        filters(&mut count, q);
        let total: i64 = count
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(WorkflowPage {
            workflows: rows_into(rows)?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn candidates(
        &self,
        filters: &SearchFilters,
        statuses: &[LifecycleStatus],
        query: Option<&Embedding>,
    ) -> Result<Vec<Candidate>, CatalogError> {
        let statuses: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
        // The candidate rows leave out their own vectors: only the similarity travels.
        let mut qb = QueryBuilder::new(concat!("SELECT ", summary_columns!(), ", "));
        match query {
            // Exact cosine over the filtered rows; vectors of another model never compare.
            Some(q) => {
                qb.push("CASE WHEN embedding IS NOT NULL AND embedding_model = ")
                    .push_bind(q.model().to_string())
                    .push(" THEN 1 - (embedding <=> ")
                    .push_bind(q.values().to_vec())
                    .push("::real[]::vector) END AS similarity");
            }
            None => {
                qb.push("NULL::float8 AS similarity");
            }
        }
        qb.push(" FROM workflows WHERE is_latest_version AND status = ANY(")
            .push_bind(statuses)
            .push(") AND lower(signal_type) = lower(")
            .push_bind(filters.signal_type.clone())
            .push(") AND severity = ")
            .push_bind(filters.severity.as_str())
            .push(" AND (component = '*' OR lower(component) = lower(")
            .push_bind(filters.component.clone())
            .push(")) AND (environment = '*' OR lower(environment) = lower(")
            .push_bind(filters.environment.clone())
            .push(")) AND (priority = '*' OR priority = ")
            .push_bind(filters.priority.as_str())
            .push(")");
        let rows: Vec<CandidateRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.into_iter().map(CandidateRow::into_candidate).collect()
    }

    async fn missing_embeddings(
        &self,
        model: &EmbeddingModel,
        limit: u32,
    ) -> Result<Vec<Workflow>, CatalogError> {
        let rows = select_where(
            &self.pool,
            "embedding IS NULL OR embedding_model IS DISTINCT FROM ",
            |qb| {
                qb.push_bind(model.to_string())
                    .push(" ORDER BY workflow_id LIMIT ")
                    .push_bind(i64::from(limit));
            },
        )
        .await
        .map_err(unavailable)?;
        rows_into(rows)
    }

    async fn set_embedding(
        &self,
        id: WorkflowId,
        embedding: &Embedding,
    ) -> Result<(), CatalogError> {
        let done = sqlx::query!(
            "UPDATE workflows SET embedding = $2::real[]::vector, embedding_model = $3 WHERE workflow_id = $1",
            id.as_uuid(),
            embedding.values() as &[f32],
            embedding.model().as_str(),
        )
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::NotFound(id));
        }
        Ok(())
    }
}
