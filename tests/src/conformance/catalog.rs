//! `WorkflowCatalog` conformance: what every catalog adapter must do.

use std::sync::Arc;

use chrono::Utc;
use datastorage_application::ports::*;
use datastorage_domain::workflow::*;
use serde_json::json;

pub use super::catalog_ranking::hybrid_ranking_and_scores_are_the_same_on_every_adapter;

pub type Catalog = Arc<dyn WorkflowCatalog>;

/// Instantiates every case as a `#[tokio::test]`. `$make` is an async expression producing a
/// fresh `Arc<dyn WorkflowCatalog>`.
#[macro_export]
macro_rules! workflow_catalog_conformance {
    ($make:expr) => {
        $crate::workflow_catalog_conformance!(@cases $make;
            register_then_get_returns_the_same_workflow,
            versions_are_immutable_and_must_increase,
            the_latest_flag_moves_with_each_new_version,
            concurrent_registrations_of_one_version_store_one_row,
            status_changes_follow_the_lifecycle_and_record_who_why_when,
            a_status_change_of_an_unknown_workflow_is_not_found,
            list_filters_and_pages,
            candidates_are_latest_versions_passing_the_hard_filters,
            candidates_carry_their_cosine_similarity_to_the_query,
            missing_embeddings_can_be_filled_in,
            hybrid_ranking_and_scores_are_the_same_on_every_adapter,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::catalog::$case($make.await).await;
            }
        )+
    };
}

/// A valid draft: `name` at `version`, OOMKilled/critical/pod/production/P0.
pub fn draft(name: &str, version: &str) -> WorkflowDraft {
    WorkflowDraft {
        workflow_name: name.into(),
        version: version.into(),
        title: format!("{name} remediation"),
        description: "Restarts the pod with more memory".into(),
        content: format!("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n# {name} {version}\n"),
        content_hash: None,
        signal_type: "OOMKilled".into(),
        severity: "critical".into(),
        component: "pod".into(),
        environment: "production".into(),
        priority: "P0".into(),
        detected_labels: json!({"gitOpsManaged": true, "gitOpsTool": "argocd"}),
        custom_labels: json!({"team": ["payments"]}),
        parameters: json!({"memory_increase": "50%"}),
        execution_engine: "argo-workflows".into(),
        container_image: Some("ghcr.io/kubernaut/workflows/oomkill:v1.0.0".into()),
        container_digest: Some(
            "sha256:0000000000000000000000000000000000000000000000000000000000000000".into(),
        ),
        owner: Some("sre".into()),
        maintainer: Some("sre@example.com".into()),
        version_notes: None,
        change_summary: None,
        created_by: Some("alice".into()),
    }
}

pub fn new_workflow(d: WorkflowDraft) -> NewWorkflow {
    d.validate(
        &WorkflowLimits::default(),
        WorkflowId::from_uuid(uuid::Uuid::now_v7()),
        Utc::now(),
    )
    .unwrap_or_else(|e| panic!("test workflow is invalid: {e}"))
}

async fn register(c: &Catalog, d: WorkflowDraft) -> Result<RegisterOutcome, CatalogError> {
    c.register(&new_workflow(d)).await
}

fn created(o: RegisterOutcome) -> Workflow {
    match o {
        RegisterOutcome::Created(w) => w,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub async fn register_then_get_returns_the_same_workflow(c: Catalog) {
    let w = created(register(&c, draft("rt", "v1.2.3")).await.unwrap());
    assert!(w.is_latest_version);
    assert_eq!(w.previous_version, None);
    assert_eq!(c.get(w.id).await.unwrap(), Some(w.clone()));
    assert_eq!(
        c.get(WorkflowId::from_uuid(uuid::Uuid::now_v7()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(w.version.as_str(), "v1.2.3");
}

pub async fn versions_are_immutable_and_must_increase(c: Catalog) {
    let first = created(register(&c, draft("imm", "1.0.0")).await.unwrap());
    let mut same_with_v = draft("imm", "1.0.0");
    same_with_v.version = "v1.0.0".into();
    match register(&c, same_with_v).await.unwrap() {
        RegisterOutcome::AlreadyExists(w) => assert_eq!(w.id, first.id),
        other => panic!("identical re-registration must be idempotent: {other:?}"),
    }
    let mut changed = draft("imm", "1.0.0");
    changed.content.push_str("# changed\n");
    assert!(matches!(
        register(&c, changed).await,
        Err(CatalogError::VersionExists { .. })
    ));
    assert!(matches!(
        register(&c, draft("imm", "0.9.0")).await,
        Err(CatalogError::VersionNotIncremented { .. })
    ));
    assert!(matches!(
        register(&c, draft("imm", "1.0.0-rc.1")).await,
        Err(CatalogError::VersionNotIncremented { .. })
    ));
    assert_eq!(
        c.versions(&WorkflowName::parse("imm").unwrap())
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn the_latest_flag_moves_with_each_new_version(c: Catalog) {
    for v in ["1.9.0", "1.10.0", "2.0.0-alpha", "2.0.0"] {
        created(register(&c, draft("moves", v)).await.unwrap());
    }
    let versions = c
        .versions(&WorkflowName::parse("moves").unwrap())
        .await
        .unwrap();
    let latest: Vec<&Workflow> = versions.iter().filter(|w| w.is_latest_version).collect();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].version.as_str(), "2.0.0");
    assert_eq!(latest[0].previous_version.as_deref(), Some("2.0.0-alpha"));
    let alpha = versions
        .iter()
        .find(|w| w.version.as_str() == "2.0.0-alpha")
        .unwrap();
    assert_eq!(alpha.previous_version.as_deref(), Some("1.10.0"));
}

pub async fn concurrent_registrations_of_one_version_store_one_row(c: Catalog) {
    let same: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { register(&c, draft("race", "1.0.0")).await })
        })
        .collect();
    let mut created_count = 0;
    for t in same {
        match t.await.unwrap().unwrap() {
            RegisterOutcome::Created(_) => created_count += 1,
            RegisterOutcome::AlreadyExists(_) => {}
        }
    }
    assert_eq!(created_count, 1);
    let different: Vec<_> = (0..10)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                let mut d = draft("race", "2.0.0");
                d.description = format!("variant {i}");
                register(&c, d).await
            })
        })
        .collect();
    let mut winners = 0;
    for t in different {
        match t.await.unwrap() {
            Ok(RegisterOutcome::Created(_)) => winners += 1,
            Err(CatalogError::VersionExists { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    let versions = c
        .versions(&WorkflowName::parse("race").unwrap())
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions.iter().filter(|w| w.is_latest_version).count(), 1);
}

pub async fn status_changes_follow_the_lifecycle_and_record_who_why_when(c: Catalog) {
    let w = created(register(&c, draft("life", "1.0.0")).await.unwrap());
    let at = Utc::now();
    let change = |to, by: &str, reason: &str| StatusChange {
        id: w.id,
        to,
        by: Some(by.into()),
        reason: Some(reason.into()),
        at,
    };
    let (disabled, changed) = c
        .set_status(&change(LifecycleStatus::Disabled, "bob", "flaky"))
        .await
        .unwrap();
    assert!(changed);
    assert_eq!(disabled.status, LifecycleStatus::Disabled);
    assert_eq!(
        (
            disabled.disabled_by.as_deref(),
            disabled.disabled_reason.as_deref()
        ),
        (Some("bob"), Some("flaky"))
    );
    assert!(disabled.disabled_at.is_some());
    let (_, again) = c
        .set_status(&change(LifecycleStatus::Disabled, "bob", "flaky"))
        .await
        .unwrap();
    assert!(!again, "disabling a disabled workflow changes nothing");
    let (enabled, _) = c
        .set_status(&change(LifecycleStatus::Active, "carol", "fixed"))
        .await
        .unwrap();
    assert_eq!(
        (enabled.disabled_at, enabled.disabled_by.clone()),
        (None, None)
    );
    assert_eq!(enabled.updated_by.as_deref(), Some("carol"));
    c.set_status(&change(LifecycleStatus::Archived, "dave", "retired"))
        .await
        .unwrap();
    assert!(matches!(
        c.set_status(&change(LifecycleStatus::Active, "eve", "revive"))
            .await,
        Err(CatalogError::Transition(_))
    ));
    assert_eq!(
        c.get(w.id).await.unwrap().unwrap().status,
        LifecycleStatus::Archived
    );
}

pub async fn a_status_change_of_an_unknown_workflow_is_not_found(c: Catalog) {
    let change = StatusChange {
        id: WorkflowId::from_uuid(uuid::Uuid::now_v7()),
        to: LifecycleStatus::Disabled,
        by: None,
        reason: None,
        at: Utc::now(),
    };
    assert!(matches!(
        c.set_status(&change).await,
        Err(CatalogError::NotFound(_))
    ));
}

pub async fn list_filters_and_pages(c: Catalog) {
    for (name, versions) in [
        ("a-list", vec!["1.0.0", "1.1.0"]),
        ("b-list", vec!["1.0.0"]),
    ] {
        for v in versions {
            created(register(&c, draft(name, v)).await.unwrap());
        }
    }
    let mut staging = draft("c-list", "1.0.0");
    staging.environment = "staging".into();
    let c_list = created(register(&c, staging).await.unwrap());
    c.set_status(&StatusChange {
        id: c_list.id,
        to: LifecycleStatus::Disabled,
        by: None,
        reason: None,
        at: Utc::now(),
    })
    .await
    .unwrap();

    let q = |f: &dyn Fn(&mut WorkflowListQuery)| {
        let mut q = WorkflowListQuery {
            limit: 100,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let all = c.list(&q(&|_| {})).await.unwrap();
    let order: Vec<String> = all
        .workflows
        .iter()
        .map(|w| format!("{}@{}", w.name, w.version))
        .collect();
    assert_eq!(
        order,
        [
            "a-list@1.1.0",
            "a-list@1.0.0",
            "b-list@1.0.0",
            "c-list@1.0.0"
        ]
    );
    assert_eq!(
        c.list(&q(&|q| q.latest_only = true)).await.unwrap().total,
        3
    );
    assert_eq!(
        c.list(&q(&|q| q.status = Some(LifecycleStatus::Disabled)))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        c.list(&q(&|q| q.environment = Some("Staging".into())))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        c.list(&q(
            &|q| q.name = Some(WorkflowName::parse("a-list").unwrap())
        ))
        .await
        .unwrap()
        .total,
        2
    );
    let page = c
        .list(&q(&|q| {
            q.limit = 2;
            q.offset = 1;
        }))
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(page.workflows.len(), 2);
    assert_eq!(page.workflows[0].name.as_str(), "a-list");
}

pub async fn candidates_are_latest_versions_passing_the_hard_filters(c: Catalog) {
    created(register(&c, draft("cand", "1.0.0")).await.unwrap());
    let latest = created(register(&c, draft("cand", "1.1.0")).await.unwrap());
    let mut any_env = draft("cand-any", "1.0.0");
    (any_env.environment, any_env.component, any_env.priority) =
        ("*".into(), "*".into(), "*".into());
    let any_env = created(register(&c, any_env).await.unwrap());
    let mut other_signal = draft("cand-other", "1.0.0");
    other_signal.signal_type = "CrashLoopBackOff".into();
    created(register(&c, other_signal).await.unwrap());
    let disabled = created(register(&c, draft("cand-off", "1.0.0")).await.unwrap());
    c.set_status(&StatusChange {
        id: disabled.id,
        to: LifecycleStatus::Disabled,
        by: None,
        reason: None,
        at: Utc::now(),
    })
    .await
    .unwrap();

    let filters = SearchFilters::parse(
        "oomkilled".into(),
        "CRITICAL",
        "Pod".into(),
        "production".into(),
        "P0",
        DetectedLabels::default(),
        CustomLabels::default(),
    )
    .unwrap();
    let ids = |ws: Vec<Candidate>| {
        let mut ids: Vec<WorkflowId> = ws.into_iter().map(|c| c.workflow.id).collect();
        ids.sort();
        ids
    };
    let mut expected = vec![latest.id, any_env.id];
    expected.sort();
    let active = c
        .candidates(&filters, &[LifecycleStatus::Active], None)
        .await
        .unwrap();
    // A candidate carries what a search reads of the workflow, as registered.
    for candidate in &active {
        let registered = if candidate.workflow.id == latest.id {
            &latest
        } else {
            &any_env
        };
        assert_eq!(candidate.workflow, WorkflowSummary::from(registered));
        assert_eq!(candidate.similarity, None);
    }
    assert_eq!(ids(active), expected);
    expected.push(disabled.id);
    expected.sort();
    assert_eq!(
        ids(c
            .candidates(
                &filters,
                &[LifecycleStatus::Active, LifecycleStatus::Disabled],
                None,
            )
            .await
            .unwrap()),
        expected
    );
}

fn embedding(model: &str, values: &[f32]) -> datastorage_domain::embedding::Embedding {
    datastorage_domain::embedding::Embedding::new(
        datastorage_domain::embedding::EmbeddingModel::parse(model).unwrap(),
        values.to_vec(),
    )
    .unwrap()
}

pub async fn candidates_carry_their_cosine_similarity_to_the_query(c: Catalog) {
    let with = |name: &str, values: Option<&[f32]>| {
        let mut w = new_workflow(draft(name, "1.0.0"));
        w.0.embedding = values.map(|v| embedding("m", v));
        w
    };
    let same = with("sim-same", Some(&[1.0, 0.0, 0.0]));
    let orthogonal = with("sim-orthogonal", Some(&[0.0, 2.0, 0.0]));
    let diagonal = with("sim-diagonal", Some(&[1.0, 1.0, 0.0]));
    let none = with("sim-none", None);
    for w in [&same, &orthogonal, &diagonal, &none] {
        c.register(w).await.unwrap();
    }
    assert_eq!(
        c.get(same.0.id).await.unwrap().unwrap().embedding,
        same.0.embedding,
        "embeddings round-trip"
    );
    let filters = SearchFilters::parse(
        "OOMKilled".into(),
        "critical",
        "pod".into(),
        "production".into(),
        "P0",
        DetectedLabels::default(),
        CustomLabels::default(),
    )
    .unwrap();
    let query = embedding("m", &[2.0, 0.0, 0.0]);
    let mut got: Vec<(String, Option<f64>)> = c
        .candidates(&filters, &[LifecycleStatus::Active], Some(&query))
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.workflow.name.to_string(),
                c.similarity.map(|s| (s * 1e6).round() / 1e6),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            (
                "sim-diagonal".to_string(),
                Some((std::f64::consts::FRAC_1_SQRT_2 * 1e6).round() / 1e6)
            ),
            ("sim-none".to_string(), None),
            ("sim-orthogonal".to_string(), Some(0.0)),
            ("sim-same".to_string(), Some(1.0)),
        ]
    );
    let other_model = embedding("other", &[1.0, 0.0, 0.0]);
    let got = c
        .candidates(&filters, &[LifecycleStatus::Active], Some(&other_model))
        .await
        .unwrap();
    assert!(
        got.iter().all(|c| c.similarity.is_none()),
        "vectors of another model never compare"
    );
}

pub async fn missing_embeddings_can_be_filled_in(c: Catalog) {
    let mut with = new_workflow(draft("emb-with", "1.0.0"));
    with.0.embedding = Some(embedding("m", &[1.0, 0.0]));
    c.register(&with).await.unwrap();
    let without = created(register(&c, draft("emb-without", "1.0.0")).await.unwrap());
    let model = datastorage_domain::embedding::EmbeddingModel::parse("m").unwrap();
    let missing: Vec<WorkflowId> = c
        .missing_embeddings(&model, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(missing, vec![without.id]);
    let other = datastorage_domain::embedding::EmbeddingModel::parse("m2").unwrap();
    assert_eq!(
        c.missing_embeddings(&other, 10).await.unwrap().len(),
        2,
        "another model: all are missing"
    );
    c.set_embedding(without.id, &embedding("m", &[0.0, 1.0]))
        .await
        .unwrap();
    assert!(c.missing_embeddings(&model, 10).await.unwrap().is_empty());
    assert_eq!(
        c.get(without.id).await.unwrap().unwrap().embedding,
        Some(embedding("m", &[0.0, 1.0]))
    );
}
