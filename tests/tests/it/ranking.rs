//! DD-WORKFLOW-004 ranking suite: expected orders and scores for the label rules, through
//! the search API, once on memory and once on PostgreSQL. Each case registers workflows (in
//! order, so their UUIDv7 ids increase: ties come back in registration order) and searches.

use datastorage_tests::support::TestApp;
use serde_json::{Value, json};

macro_rules! cases {
    ($storage:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(datastorage_tests::support::spawn_app($storage).await).await;
            }
        )+
    };
}

macro_rules! all_cases {
    ($storage:expr) => {
        cases!($storage;
            equal_scores_tie_break_by_workflow_id,
            gitops_managed_is_boosted,
            gitops_managed_missing_is_penalised,
            gitops_tool_exact_beats_wildcard_beats_absent_beats_other,
            gitops_managed_and_tool_combine,
            pdb_protected_is_boosted,
            a_label_the_query_does_not_set_gives_no_boost,
            service_mesh_exact_beats_wildcard,
            network_isolated_is_boosted,
            helm_stateful_and_hpa_are_minor_boosts_that_add_up,
            custom_label_exact_beats_wildcard,
            custom_labels_add_up_across_keys,
            custom_labels_add_up_across_values,
            component_wildcard_passes_the_hard_filter,
            environment_and_priority_wildcards_pass,
            mandatory_labels_match_case_insensitively,
            other_signal_type_or_severity_never_matches,
            disabled_workflows_only_with_include_disabled,
            only_the_latest_version_is_searched,
            exactly_top_k_when_more_pass,
            min_score_cuts_penalised_workflows,
            failed_detections_are_ignored,
            no_match_is_an_empty_list,
            the_maximum_label_only_score,
            boost_and_penalty_are_reported_separately,
        );
    };
}

mod memory {
    all_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    all_cases!(datastorage_tests::support::Storage::Postgres);
}

/// Registers a workflow named `key` whose labels are the base ones merged with `overrides`
/// (`labels`, `detected_labels`, `custom_labels`).
async fn add(app: &TestApp, key: &str, overrides: Value) -> String {
    let mut w = json!({
        "workflow_name": key, "version": "1.0.0", "name": key, "description": key,
        "content": format!("kind: Workflow # {key}"), "execution_engine": "argo-workflows",
        "labels": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                   "environment": "production", "priority": "P0"},
    });
    for (k, v) in overrides.as_object().unwrap() {
        if k == "labels" {
            for (lk, lv) in v.as_object().unwrap() {
                w["labels"][lk] = lv.clone();
            }
        } else {
            w[k] = v.clone();
        }
    }
    let r = app.post_json("/api/v1/workflows", &w).await;
    assert!(r.status().is_success(), "register {key}: {}", r.status());
    let body: Value = r.json().await.unwrap();
    body["workflow_id"].as_str().unwrap().to_owned()
}

/// Searches with the base filters merged with `filters` and the request fields in `extra`.
async fn search(app: &TestApp, filters: Value, extra: Value) -> Value {
    let mut f = json!({"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                       "environment": "production", "priority": "P0"});
    for (k, v) in filters.as_object().unwrap() {
        f[k] = v.clone();
    }
    let mut body = json!({"filters": f, "top_k": 100});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.post_json("/api/v1/workflows/search", &body).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The ranked (workflow_name, final_score) pairs; also checks ranks and confidence.
fn ranked(result: &Value) -> Vec<(String, f64)> {
    result["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, w)| {
            assert_eq!(w["rank"], i + 1);
            assert_eq!(w["confidence"], w["final_score"]);
            (
                w["workflow_name"].as_str().unwrap().to_owned(),
                w["final_score"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn expect(result: &Value, expected: &[(&str, f64)]) {
    let got = ranked(result);
    let want: Vec<(String, f64)> = expected.iter().map(|(k, s)| (k.to_string(), *s)).collect();
    assert_eq!(got, want);
}

async fn equal_scores_tie_break_by_workflow_id(app: TestApp) {
    let ids = [
        add(&app, "tie-c", json!({})).await,
        add(&app, "tie-a", json!({})).await,
        add(&app, "tie-b", json!({})).await,
    ];
    let r = search(&app, json!({}), json!({})).await;
    let got: Vec<&str> = r["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["workflow_id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.to_vec();
    sorted.sort();
    assert_eq!(got, sorted);
    expect(&r, &[("tie-c", 0.5), ("tie-a", 0.5), ("tie-b", 0.5)]);
}

async fn gitops_managed_is_boosted(app: TestApp) {
    add(
        &app,
        "plain",
        json!({"detected_labels": {"gitOpsManaged": false}}),
    )
    .await;
    add(
        &app,
        "gitops",
        json!({"detected_labels": {"gitOpsManaged": true}}),
    )
    .await;
    let r = search(
        &app,
        json!({"detected_labels": {"gitOpsManaged": true}}),
        json!({}),
    )
    .await;
    expect(&r, &[("gitops", 0.51), ("plain", 0.49)]);
}

async fn gitops_managed_missing_is_penalised(app: TestApp) {
    add(&app, "silent", json!({})).await;
    let r = search(
        &app,
        json!({"detected_labels": {"gitOpsManaged": true}}),
        json!({}),
    )
    .await;
    expect(&r, &[("silent", 0.49)]);
}

async fn gitops_tool_exact_beats_wildcard_beats_absent_beats_other(app: TestApp) {
    add(
        &app,
        "flux",
        json!({"detected_labels": {"gitOpsTool": "flux"}}),
    )
    .await;
    add(&app, "none", json!({})).await;
    add(&app, "any", json!({"detected_labels": {"gitOpsTool": "*"}})).await;
    add(
        &app,
        "argo",
        json!({"detected_labels": {"gitOpsTool": "argocd"}}),
    )
    .await;
    let r = search(
        &app,
        json!({"detected_labels": {"gitOpsTool": "argocd"}}),
        json!({}),
    )
    .await;
    expect(
        &r,
        &[
            ("argo", 0.51),
            ("any", 0.505),
            ("none", 0.5),
            ("flux", 0.49),
        ],
    );
}

async fn gitops_managed_and_tool_combine(app: TestApp) {
    add(&app, "nothing", json!({})).await;
    add(
        &app,
        "managed-flux",
        json!({"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "flux"}}),
    )
    .await;
    add(
        &app,
        "managed-argo",
        json!({"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd"}}),
    )
    .await;
    let r = search(
        &app,
        json!({"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd"}}),
        json!({}),
    )
    .await;
    expect(
        &r,
        &[
            ("managed-argo", 0.52),
            ("managed-flux", 0.5),
            ("nothing", 0.49),
        ],
    );
}

async fn pdb_protected_is_boosted(app: TestApp) {
    add(
        &app,
        "no-pdb",
        json!({"detected_labels": {"pdbProtected": false}}),
    )
    .await;
    add(
        &app,
        "pdb",
        json!({"detected_labels": {"pdbProtected": true}}),
    )
    .await;
    let r = search(
        &app,
        json!({"detected_labels": {"pdbProtected": true}}),
        json!({}),
    )
    .await;
    expect(&r, &[("pdb", 0.505), ("no-pdb", 0.5)]);
}

async fn a_label_the_query_does_not_set_gives_no_boost(app: TestApp) {
    add(
        &app,
        "rich",
        json!({"detected_labels": {"pdbProtected": true, "stateful": true, "serviceMesh": "istio"},
                             "custom_labels": {"team": ["payments"]}}),
    )
    .await;
    add(&app, "bare", json!({})).await;
    let r = search(
        &app,
        json!({"detected_labels": {"pdbProtected": false}}),
        json!({}),
    )
    .await;
    expect(&r, &[("rich", 0.5), ("bare", 0.5)]);
}

async fn service_mesh_exact_beats_wildcard(app: TestApp) {
    add(
        &app,
        "linkerd",
        json!({"detected_labels": {"serviceMesh": "linkerd"}}),
    )
    .await;
    add(
        &app,
        "any-mesh",
        json!({"detected_labels": {"serviceMesh": "*"}}),
    )
    .await;
    add(
        &app,
        "istio",
        json!({"detected_labels": {"serviceMesh": "istio"}}),
    )
    .await;
    let r = search(
        &app,
        json!({"detected_labels": {"serviceMesh": "istio"}}),
        json!({}),
    )
    .await;
    expect(
        &r,
        &[("istio", 0.505), ("any-mesh", 0.5025), ("linkerd", 0.5)],
    );
}

async fn network_isolated_is_boosted(app: TestApp) {
    add(&app, "open", json!({})).await;
    add(
        &app,
        "isolated",
        json!({"detected_labels": {"networkIsolated": true}}),
    )
    .await;
    let r = search(
        &app,
        json!({"detected_labels": {"networkIsolated": true}}),
        json!({}),
    )
    .await;
    expect(&r, &[("isolated", 0.503), ("open", 0.5)]);
}

async fn helm_stateful_and_hpa_are_minor_boosts_that_add_up(app: TestApp) {
    add(
        &app,
        "helm",
        json!({"detected_labels": {"helmManaged": true}}),
    )
    .await;
    add(
        &app,
        "all-three",
        json!({"detected_labels": {"helmManaged": true, "stateful": true, "hpaEnabled": true}}),
    )
    .await;
    add(
        &app,
        "stateful",
        json!({"detected_labels": {"stateful": true}}),
    )
    .await;
    let r = search(
        &app,
        json!({"detected_labels": {"helmManaged": true, "stateful": true, "hpaEnabled": true}}),
        json!({}),
    )
    .await;
    expect(
        &r,
        &[("all-three", 0.506), ("helm", 0.502), ("stateful", 0.502)],
    );
}

async fn custom_label_exact_beats_wildcard(app: TestApp) {
    add(
        &app,
        "search-team",
        json!({"custom_labels": {"team": ["search"]}}),
    )
    .await;
    add(&app, "any-team", json!({"custom_labels": {"team": ["*"]}})).await;
    add(
        &app,
        "payments",
        json!({"custom_labels": {"team": ["payments"]}}),
    )
    .await;
    let r = search(
        &app,
        json!({"custom_labels": {"team": ["payments"]}}),
        json!({}),
    )
    .await;
    expect(
        &r,
        &[
            ("payments", 0.505),
            ("any-team", 0.5025),
            ("search-team", 0.5),
        ],
    );
}

async fn custom_labels_add_up_across_keys(app: TestApp) {
    add(
        &app,
        "one-key",
        json!({"custom_labels": {"team": ["payments"]}}),
    )
    .await;
    add(
        &app,
        "two-keys",
        json!({"custom_labels": {"team": ["payments"], "tier": ["1"]}}),
    )
    .await;
    let r = search(
        &app,
        json!({"custom_labels": {"team": ["payments"], "tier": ["1"]}}),
        json!({}),
    )
    .await;
    expect(&r, &[("two-keys", 0.51), ("one-key", 0.505)]);
}

async fn custom_labels_add_up_across_values(app: TestApp) {
    add(
        &app,
        "one-value",
        json!({"custom_labels": {"constraint": ["cost-constrained"]}}),
    )
    .await;
    add(
        &app,
        "both-values",
        json!({"custom_labels": {"constraint": ["cost-constrained", "stateful-safe"]}}),
    )
    .await;
    let r = search(
        &app,
        json!({"custom_labels": {"constraint": ["cost-constrained", "stateful-safe"]}}),
        json!({}),
    )
    .await;
    expect(&r, &[("both-values", 0.51), ("one-value", 0.505)]);
}

async fn component_wildcard_passes_the_hard_filter(app: TestApp) {
    add(&app, "pod-only", json!({})).await;
    add(&app, "any-component", json!({"labels": {"component": "*"}})).await;
    let r = search(&app, json!({"component": "deployment"}), json!({})).await;
    expect(&r, &[("any-component", 0.5)]);
}

async fn environment_and_priority_wildcards_pass(app: TestApp) {
    add(&app, "prod-p0", json!({})).await;
    add(&app, "any-env", json!({"labels": {"environment": "*"}})).await;
    add(
        &app,
        "any-priority",
        json!({"labels": {"environment": "*", "priority": "*"}}),
    )
    .await;
    let r = search(
        &app,
        json!({"environment": "staging", "priority": "P2"}),
        json!({}),
    )
    .await;
    expect(&r, &[("any-priority", 0.5)]);
    let r = search(&app, json!({"environment": "staging"}), json!({})).await;
    expect(&r, &[("any-env", 0.5), ("any-priority", 0.5)]);
}

async fn mandatory_labels_match_case_insensitively(app: TestApp) {
    add(&app, "mixed-case", json!({"labels": {"signal_type": "OOMKilled", "component": "Pod", "environment": "Production"}})).await;
    let r = search(&app, json!({"signal_type": "oomkilled", "severity": "CRITICAL", "component": "POD", "environment": "production", "priority": "p0"}), json!({})).await;
    expect(&r, &[("mixed-case", 0.5)]);
}

async fn other_signal_type_or_severity_never_matches(app: TestApp) {
    add(
        &app,
        "crashloop",
        json!({"labels": {"signal_type": "CrashLoopBackOff"}}),
    )
    .await;
    add(&app, "high", json!({"labels": {"severity": "high"}})).await;
    add(&app, "match", json!({})).await;
    let r = search(&app, json!({}), json!({})).await;
    expect(&r, &[("match", 0.5)]);
}

async fn disabled_workflows_only_with_include_disabled(app: TestApp) {
    add(&app, "on", json!({})).await;
    let off = add(
        &app,
        "off",
        json!({"detected_labels": {"pdbProtected": true}}),
    )
    .await;
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/workflows/{off}/disable")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    expect(
        &search(
            &app,
            json!({"detected_labels": {"pdbProtected": true}}),
            json!({}),
        )
        .await,
        &[("on", 0.5)],
    );
    expect(
        &search(
            &app,
            json!({"detected_labels": {"pdbProtected": true}}),
            json!({"include_disabled": true}),
        )
        .await,
        &[("off", 0.505), ("on", 0.5)],
    );
}

async fn only_the_latest_version_is_searched(app: TestApp) {
    add(
        &app,
        "versioned",
        json!({"detected_labels": {"pdbProtected": true}}),
    )
    .await;
    let mut v2 = json!({"workflow_name": "versioned", "version": "2.0.0", "name": "v2", "description": "v2",
        "content": "kind: Workflow # v2", "execution_engine": "argo-workflows",
        "labels": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod", "environment": "production", "priority": "P0"}});
    v2["detected_labels"] = json!({});
    assert_eq!(app.post_json("/api/v1/workflows", &v2).await.status(), 201);
    let r = search(
        &app,
        json!({"detected_labels": {"pdbProtected": true}}),
        json!({}),
    )
    .await;
    expect(&r, &[("versioned", 0.5)]);
    assert_eq!(r["workflows"][0]["version"], "2.0.0");
}

async fn exactly_top_k_when_more_pass(app: TestApp) {
    for i in 0..5 {
        add(
            &app,
            &format!("k{i}"),
            json!({"detected_labels": {"pdbProtected": i % 2 == 0}}),
        )
        .await;
    }
    let r = search(
        &app,
        json!({"detected_labels": {"pdbProtected": true}}),
        json!({"top_k": 3}),
    )
    .await;
    expect(&r, &[("k0", 0.505), ("k2", 0.505), ("k4", 0.505)]);
    assert_eq!(r["total_results"], 5);
    let r = search(
        &app,
        json!({"detected_labels": {"pdbProtected": true}}),
        json!({"top_k": 4}),
    )
    .await;
    assert_eq!(ranked(&r).len(), 4);
}

async fn min_score_cuts_penalised_workflows(app: TestApp) {
    add(
        &app,
        "penalised",
        json!({"detected_labels": {"gitOpsTool": "flux"}}),
    )
    .await;
    add(&app, "neutral", json!({})).await;
    let r = search(
        &app,
        json!({"detected_labels": {"gitOpsTool": "argocd"}}),
        json!({"min_score": 0.5}),
    )
    .await;
    expect(&r, &[("neutral", 0.5)]);
    assert_eq!(r["total_results"], 1);
}

async fn failed_detections_are_ignored(app: TestApp) {
    add(&app, "unmanaged", json!({})).await;
    let r = search(
        &app,
        json!({"detected_labels": {"gitOpsManaged": true, "failed_detections": ["gitOpsManaged"]}}),
        json!({}),
    )
    .await;
    expect(&r, &[("unmanaged", 0.5)]);
}

async fn no_match_is_an_empty_list(app: TestApp) {
    add(
        &app,
        "elsewhere",
        json!({"labels": {"signal_type": "NodeNotReady"}}),
    )
    .await;
    let r = search(&app, json!({}), json!({})).await;
    assert_eq!(r["workflows"], json!([]));
    assert_eq!(r["total_results"], 0);
}

async fn the_maximum_label_only_score(app: TestApp) {
    let all = json!({"gitOpsManaged": true, "gitOpsTool": "argocd", "pdbProtected": true, "serviceMesh": "istio",
                     "networkIsolated": true, "helmManaged": true, "stateful": true, "hpaEnabled": true});
    add(&app, "everything", json!({"detected_labels": all})).await;
    let r = search(&app, json!({"detected_labels": all}), json!({})).await;
    expect(&r, &[("everything", 0.539)]);
    assert_eq!(r["workflows"][0]["label_boost"], 0.39);
}

async fn boost_and_penalty_are_reported_separately(app: TestApp) {
    add(
        &app,
        "mixed",
        json!({"detected_labels": {"gitOpsTool": "flux", "pdbProtected": true}}),
    )
    .await;
    let r = search(&app, json!({"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd", "pdbProtected": true}}), json!({})).await;
    let w = &r["workflows"][0];
    assert_eq!(
        (w["label_boost"].as_f64(), w["label_penalty"].as_f64()),
        (Some(0.05), Some(0.2))
    );
    assert_eq!(w["final_score"], 0.485);
    assert!(
        w.get("semantic_similarity").is_none(),
        "a label-only result leaves semantic_similarity out: {w}"
    );
}
