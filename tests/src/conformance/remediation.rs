//! The remediation reads of `AuditEventRepository` (issue 25 step 5): a page of trails in one
//! call, and the incidents' page and exact total. Every answer is held to the domain's own
//! rules (`incident` folded over each trail, `incident_keys`) and, where it matters, to the
//! rows written out by hand, so the SQL and the memory adapter cannot drift apart.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use datastorage_application::ports::AuditEventRepository;
use datastorage_domain::audit::*;
use datastorage_domain::remediation::{
    IncidentCursor, IncidentFilter, IncidentKeys, IncidentPosition, IncidentQuery, incident,
    incident_keys,
};
use datastorage_domain::workflow::Severity;
use serde_json::{Value, json};

use crate::support::EventFactory;

type Repo = Arc<dyn AuditEventRepository>;

/// Instantiates every case as a `#[tokio::test]` in the calling module.
#[macro_export]
macro_rules! remediation_reads_conformance {
    ($make:expr) => {
        $crate::remediation_reads_conformance!(@cases $make;
            correlations_reads_each_trail_oldest_first_up_to_the_limit,
            incidents_follow_the_domain_rules_for_every_filter,
            incident_pages_cover_every_match_once_with_the_exact_total,
            a_retry_after_the_range_moves_the_row_out_of_it,
            a_choice_recorded_late_never_replaces_a_later_one,
            workflow_choices_are_a_targets_choices_in_range_newest_first,
            remediations_producing_a_spec_are_those_whose_assessment_names_it,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::remediation::$case($make.await).await;
            }
        )+
    };
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0)
        .single()
        .unwrap()
}

/// One event of `correlation` at `t0 + seconds`.
fn event(correlation: &str, seconds: i64, event_type: &str, data: Value) -> NewAuditEvent {
    let at = t0() + Duration::seconds(seconds);
    let factory = EventFactory::at(at + Duration::minutes(5));
    let mut d = factory.draft(correlation);
    d.event_timestamp = at.to_rfc3339();
    d.event_type = event_type.into();
    d.event_category = event_type
        .split('.')
        .next()
        .map(|c| match c {
            "remediation" => "workflow",
            "orchestrator" => "orchestration",
            "aianalysis" => "analysis",
            other => other,
        })
        .unwrap_or("gateway")
        .into();
    d.event_data = data.into();
    factory.build(d)
}

const SIGNAL: &str = "gateway.signal.received";
const PROCESSED: &str = "signalprocessing.signal.processed";
const CHOSEN: &str = "remediation.workflow_created";

/// Remediations that exercise every rule: first non-empty alert name, last normalised
/// severity over the raw one, a retried choice, a malformed and a cluster-scoped target, a
/// non-string action type, ties on the time broken by id (bytewise, so `tie-B` < `tie-a` <
/// `tie-ä`), and a correlation that chose nothing.
fn remediations() -> Vec<NewAuditEvent> {
    vec![
        event(
            "r1",
            0,
            SIGNAL,
            json!({"signal_name": "HighCPU", "severity": "warning", "namespace": "prod"}),
        ),
        event("r1", 5, PROCESSED, json!({"severity": "High"})),
        event(
            "r1",
            60,
            CHOSEN,
            json!({"target_resource": "prod/Deployment/api", "action_type": "ScaleReplicas"}),
        ),
        event(
            "r2",
            100,
            SIGNAL,
            json!({"signal_name": "", "severity": "critical"}),
        ),
        event(
            "r2",
            101,
            SIGNAL,
            json!({"signal_name": "OOMKilled", "namespace": "prod"}),
        ),
        event("r2", 102, PROCESSED, json!({"severity": ""})),
        event(
            "r2",
            160,
            CHOSEN,
            json!({"target_resource": "prod/Deployment/web", "action_type": "Restart"}),
        ),
        event(
            "r2",
            7_200,
            CHOSEN,
            json!({"target_resource": "staging/Deployment/web", "action_type": "Rollback"}),
        ),
        event(
            "r3",
            200,
            SIGNAL,
            json!({"signal_name": "DiskFull", "namespace": "ops"}),
        ),
        event("r3", 201, PROCESSED, json!({"severity": "low"})),
        event("r3", 202, PROCESSED, json!({"severity": "critical"})),
        event(
            "r3",
            260,
            CHOSEN,
            json!({"target_resource": "api", "action_type": 5}),
        ),
        event(
            "r4",
            300,
            SIGNAL,
            json!({"signal_name": "Noise", "namespace": "prod"}),
        ),
        event("r5", 400, PROCESSED, json!({"severity": "Medium"})),
        event(
            "r5",
            460,
            CHOSEN,
            json!({"target_resource": "/ClusterRole/admin", "action_type": "Revoke"}),
        ),
        event(
            "tie-a",
            60,
            CHOSEN,
            json!({"target_resource": "prod/Deployment/a", "action_type": "ScaleReplicas"}),
        ),
        event(
            "tie-B",
            60,
            CHOSEN,
            json!({"target_resource": "prod/Deployment/b", "action_type": "ScaleReplicas"}),
        ),
        event(
            "tie-ä",
            60,
            CHOSEN,
            json!({"target_resource": "prod/Deployment/c", "action_type": "ScaleReplicas"}),
        ),
    ]
}

async fn stored(repo: &Repo) -> Vec<NewAuditEvent> {
    let events = remediations();
    repo.insert_batch(&events).await.unwrap();
    events
}

fn id(s: &str) -> CorrelationId {
    CorrelationId::parse(s).unwrap()
}

fn query(filter: IncidentFilter, limit: i64, position: IncidentPosition) -> IncidentQuery {
    IncidentQuery {
        filter,
        limit: PageLimit::parse(limit).unwrap(),
        position,
    }
}

/// The domain's answer over the events written.
fn reference(events: &[NewAuditEvent], q: &IncidentQuery) -> IncidentKeys {
    let mut trails: BTreeMap<CorrelationId, Vec<AuditEvent>> = BTreeMap::new();
    let mut all: Vec<AuditEvent> = events.iter().map(|e| e.event.clone()).collect();
    all.sort_by_key(|e| e.sort_key());
    for e in all {
        trails.entry(e.correlation_id.clone()).or_default().push(e);
    }
    incident_keys(trails.iter().filter_map(|(c, t)| incident(c, t)), q)
}

fn names(keys: &IncidentKeys) -> Vec<&str> {
    keys.ids.iter().map(CorrelationId::as_str).collect()
}

pub async fn correlations_reads_each_trail_oldest_first_up_to_the_limit(repo: Repo) {
    stored(&repo).await;
    let got = repo
        .correlations(&[id("r3"), id("nobody"), id("r2")], 3)
        .await
        .unwrap();
    let mut by: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
    for e in &got {
        by.entry(e.correlation_id.as_str()).or_default().push((
            e.event_type.as_str(),
            e.event_timestamp.as_datetime().format("%T").to_string(),
        ));
    }
    assert_eq!(
        by.len(),
        2,
        "only the correlations asked for that exist: {by:?}"
    );
    assert_eq!(
        by["r2"],
        [
            (SIGNAL, "12:01:40".into()),
            (SIGNAL, "12:01:41".into()),
            (PROCESSED, "12:01:42".into())
        ]
    );
    assert_eq!(
        by["r3"],
        [
            (SIGNAL, "12:03:20".into()),
            (PROCESSED, "12:03:21".into()),
            (PROCESSED, "12:03:22".into())
        ]
    );
    assert!(repo.correlations(&[], 10).await.unwrap().is_empty());
}

pub async fn incidents_follow_the_domain_rules_for_every_filter(repo: Repo) {
    let events = stored(&repo).await;
    let filters: Vec<(IncidentFilter, Vec<&str>)> = vec![
        // Newest first; ties on the time by id, descending bytewise.
        (
            IncidentFilter::default(),
            vec!["r2", "r5", "r3", "tie-ä", "tie-a", "tie-B", "r1"],
        ),
        (
            IncidentFilter {
                action_type: Some("Rollback".into()),
                ..Default::default()
            },
            vec!["r2"],
        ),
        // The retry's choice is what ran: the first choice no longer matches.
        (
            IncidentFilter {
                action_type: Some("Restart".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            IncidentFilter {
                namespace: Some("staging".into()),
                ..Default::default()
            },
            vec!["r2"],
        ),
        // A malformed target falls back to the signal's namespace.
        (
            IncidentFilter {
                namespace: Some("ops".into()),
                ..Default::default()
            },
            vec!["r3"],
        ),
        (
            IncidentFilter {
                alert_name: Some("OOMKilled".into()),
                ..Default::default()
            },
            vec!["r2"],
        ),
        (
            IncidentFilter {
                alert_name: Some("".into()),
                ..Default::default()
            },
            vec![],
        ),
        // Processing's last severity over the gateway's; case folded.
        (
            IncidentFilter {
                severity: Some(Severity::Critical),
                ..Default::default()
            },
            vec!["r2", "r3"],
        ),
        (
            IncidentFilter {
                severity: Some(Severity::High),
                ..Default::default()
            },
            vec!["r1"],
        ),
        (
            IncidentFilter {
                severity: Some(Severity::Medium),
                ..Default::default()
            },
            vec!["r5"],
        ),
        (
            IncidentFilter {
                severity: Some(Severity::Critical),
                namespace: Some("ops".into()),
                since: Some(t0()),
                until: Some(t0() + Duration::hours(3)),
                ..Default::default()
            },
            vec!["r3"],
        ),
        (
            IncidentFilter {
                action_type: Some("ScaleReplicas".into()),
                since: Some(t0() + Duration::seconds(60)),
                until: Some(t0() + Duration::seconds(60)),
                ..Default::default()
            },
            vec!["tie-ä", "tie-a", "tie-B", "r1"],
        ),
    ];
    for (filter, want) in filters {
        let q = query(filter.clone(), 100, IncidentPosition::Offset(0));
        let got = repo.incidents(&q).await.unwrap();
        assert_eq!(got, reference(&events, &q), "{filter:?}");
        assert_eq!(names(&got), want, "{filter:?}");
        assert_eq!(got.total, want.len() as u64, "{filter:?}");
    }
}

pub async fn incident_pages_cover_every_match_once_with_the_exact_total(repo: Repo) {
    let events = stored(&repo).await;
    for limit in [1, 2, 3] {
        // Offsets, the seeds' way, including one past the end.
        for offset in 0..8 {
            let q = query(
                IncidentFilter::default(),
                limit,
                IncidentPosition::Offset(offset),
            );
            let got = repo.incidents(&q).await.unwrap();
            assert_eq!(
                got,
                reference(&events, &q),
                "limit {limit}, offset {offset}"
            );
            assert_eq!(got.total, 7, "the total is every match, whatever the page");
        }
        // Keyset: each page starts after the previous page's last row.
        let mut seen = Vec::new();
        let mut position = IncidentPosition::Offset(0);
        loop {
            let q = query(IncidentFilter::default(), limit, position);
            let got = repo.incidents(&q).await.unwrap();
            assert_eq!(got, reference(&events, &q), "limit {limit}, after {seen:?}");
            seen.extend(names(&got).into_iter().map(str::to_owned));
            if !got.has_more {
                break;
            }
            let last = got.ids.last().unwrap();
            let at = events
                .iter()
                .filter(|e| {
                    &e.event.correlation_id == last && e.event.event_type.as_str() == CHOSEN
                })
                .map(|e| *e.event.event_timestamp.as_datetime())
                .max()
                .unwrap();
            position = IncidentPosition::After(IncidentCursor {
                action_timestamp: at,
                id: last.clone(),
            });
        }
        assert_eq!(
            seen,
            ["r2", "r5", "r3", "tie-ä", "tie-a", "tie-B", "r1"],
            "limit {limit}"
        );
    }
}

pub async fn a_retry_after_the_range_moves_the_row_out_of_it(repo: Repo) {
    let events = stored(&repo).await;
    // r2 chose at +160 s and again at +7200 s: its row's time is the retry's.
    let before_retry = IncidentFilter {
        since: Some(t0() + Duration::seconds(150)),
        until: Some(t0() + Duration::seconds(170)),
        ..Default::default()
    };
    let with_retry = IncidentFilter {
        since: Some(t0() + Duration::seconds(170)),
        ..Default::default()
    };
    for (filter, want) in [(before_retry, vec![]), (with_retry, vec!["r2", "r5", "r3"])] {
        let q = query(filter.clone(), 10, IncidentPosition::Offset(0));
        let got = repo.incidents(&q).await.unwrap();
        assert_eq!(got, reference(&events, &q), "{filter:?}");
        assert_eq!(names(&got), want, "{filter:?}");
    }
}

pub async fn a_choice_recorded_late_never_replaces_a_later_one(repo: Repo) {
    // The retry arrives first (the original choice sat in the dead-letter queue), then the
    // original, alone and in a batch with another remediation.
    let retry = event(
        "late",
        600,
        CHOSEN,
        json!({"target_resource": "prod/Deployment/x", "action_type": "Rollback"}),
    );
    let original = event(
        "late",
        60,
        CHOSEN,
        json!({"target_resource": "prod/Deployment/x", "action_type": "Restart"}),
    );
    let other = event("other", 30, CHOSEN, json!({"action_type": "Restart"}));
    repo.insert(&retry).await.unwrap();
    repo.insert_batch(&[original.clone(), other.clone()])
        .await
        .unwrap();
    let events = [retry, original, other];
    for action in ["Rollback", "Restart"] {
        let q = query(
            IncidentFilter {
                action_type: Some(action.into()),
                ..Default::default()
            },
            10,
            IncidentPosition::Offset(0),
        );
        let got = repo.incidents(&q).await.unwrap();
        assert_eq!(got, reference(&events, &q), "{action}");
    }
    let q = query(
        IncidentFilter {
            action_type: Some("Rollback".into()),
            ..Default::default()
        },
        10,
        IncidentPosition::Offset(0),
    );
    assert_eq!(names(&repo.incidents(&q).await.unwrap()), ["late"]);
}

pub async fn workflow_choices_are_a_targets_choices_in_range_newest_first(repo: Repo) {
    stored(&repo).await;
    repo.insert_batch(&[
        // Another retry on r2's first target, and a signal event naming the target: only
        // choices count, and only a string target.
        event(
            "r6",
            500,
            CHOSEN,
            json!({"target_resource": "prod/Deployment/web", "action_type": "Restart"}),
        ),
        event(
            "r7",
            510,
            SIGNAL,
            json!({"target_resource": "prod/Deployment/web"}),
        ),
        event(
            "r8",
            520,
            CHOSEN,
            json!({"target_resource": ["prod/Deployment/web"]}),
        ),
    ])
    .await
    .unwrap();
    let choices = |target: &'static str, from: i64, to: i64, limit: u32| {
        let repo = repo.clone();
        async move {
            repo.workflow_choices(
                target,
                t0() + Duration::seconds(from),
                t0() + Duration::seconds(to),
                limit,
            )
            .await
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e.correlation_id.as_str().to_owned(),
                    e.event_timestamp.as_datetime().format("%T").to_string(),
                )
            })
            .collect::<Vec<_>>()
        }
    };
    let web = |c: &str, t: &str| (c.to_owned(), t.to_owned());
    assert_eq!(
        choices("prod/Deployment/web", 0, 10_000, 10).await,
        [web("r6", "12:08:20"), web("r2", "12:02:40")]
    );
    // Bounds are inclusive; the limit keeps the newest.
    assert_eq!(
        choices("prod/Deployment/web", 160, 500, 10).await,
        [web("r6", "12:08:20"), web("r2", "12:02:40")]
    );
    assert_eq!(choices("prod/Deployment/web", 161, 499, 10).await, []);
    assert_eq!(
        choices("prod/Deployment/web", 0, 10_000, 1).await,
        [web("r6", "12:08:20")]
    );
    assert_eq!(
        choices("staging/Deployment/web", 0, 10_000, 10).await,
        [web("r2", "14:00:00")]
    );
    assert_eq!(choices("prod/Deployment", 0, 10_000, 10).await, []);
}

pub async fn remediations_producing_a_spec_are_those_whose_assessment_names_it(repo: Repo) {
    let assessed = |c: &str, s: i64, category: &str, post: Value| {
        let factory = EventFactory::at(t0() + Duration::minutes(30));
        let mut d = factory.draft(c);
        d.event_timestamp = (t0() + Duration::seconds(s)).to_rfc3339();
        d.event_type = "effectiveness.hash.computed".into();
        d.event_category = category.into();
        d.event_data = json!({"post_remediation_spec_hash": post}).into();
        factory.build(d)
    };
    repo.insert_batch(&[
        assessed("p1", 10, "effectiveness", json!("sha256:aa")),
        assessed("p2", 20, "effectiveness", json!("sha256:bb")),
        // Not an effectiveness event, or not a string: no.
        assessed("p3", 30, "workflow", json!("sha256:aa")),
        assessed("p4", 40, "effectiveness", json!(["sha256:aa"])),
        assessed("p5", 50, "effectiveness", json!("sha256:aa")),
    ])
    .await
    .unwrap();
    let asked = [id("p1"), id("p2"), id("p3"), id("p4"), id("nobody")];
    let mut got = repo
        .remediations_producing(&asked, "sha256:aa")
        .await
        .unwrap();
    got.sort();
    // p5 names it but was not asked about.
    assert_eq!(got, [id("p1")]);
    assert!(
        repo.remediations_producing(&[], "sha256:aa")
            .await
            .unwrap()
            .is_empty()
    );
}
