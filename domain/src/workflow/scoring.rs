//! DD-WORKFLOW-004 label scoring, as pure functions.
//!
//! Scores are integers (boosts in units of 0.0001, label-only scores in units of 0.00001), so
//! two workflows with equal labels have exactly equal scores and the order `final_score DESC,
//! workflow_id ASC` is the same on every adapter and every run.

use super::labels::*;
use crate::{Reason, ValidationErrors};

/// What an incident looks like: the search's filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchFilters {
    pub signal_type: String,
    pub severity: Severity,
    pub component: String,
    pub environment: String,
    pub priority: Priority,
    pub detected: DetectedLabels,
    pub custom: CustomLabels,
}

impl SearchFilters {
    /// The five mandatory labels are concrete values in a query (no `*`).
    pub fn parse(
        signal_type: String,
        severity: &str,
        component: String,
        environment: String,
        priority: &str,
        detected: DetectedLabels,
        custom: CustomLabels,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let field = |k: &str| format!("filters.{k}");
        for (k, v) in [
            ("signal_type", &signal_type),
            ("component", &component),
            ("environment", &environment),
        ] {
            if v.is_empty() || v.chars().count() > 100 || v.contains('\0') || v == "*" {
                errors.push_because(
                    field(k),
                    Reason::WrongType,
                    "must be a concrete value of 1 to 100 characters",
                );
            }
        }
        let severity = errors.collect(Severity::parse(severity).map_err(|_| {
            ValidationErrors::single(
                field("severity"),
                "must be one of: critical, high, medium, low",
            )
        }));
        let priority = match Priority::parse(priority) {
            Ok(Priority::Any) | Err(_) => {
                errors.push(field("priority"), "must be one of: P0, P1, P2, P3");
                None
            }
            Ok(p) => Some(p),
        };
        match (severity, priority) {
            (Some(severity), Some(priority)) if errors.is_empty() => Ok(Self {
                signal_type,
                severity,
                component,
                environment,
                priority,
                detected,
                custom,
            }),
            _ => Err(errors),
        }
    }
}

/// Whether a workflow's mandatory labels admit the incident (DESIGN.md §5 step 1):
/// `signal_type` and `severity` exact (case-insensitive); `component`, `environment` and
/// `priority` exact or the workflow's `*`.
pub fn passes_hard_filters(query: &SearchFilters, labels: &MandatoryLabels) -> bool {
    labels.signal_type.eq_ignore_ascii_case(&query.signal_type)
        && labels.severity == query.severity
        && labels.component.accepts(&query.component)
        && labels.environment.accepts(&query.environment)
        && (labels.priority == Priority::Any || labels.priority == query.priority)
}

/// Boost and penalty, in units of 0.0001.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelScore {
    pub boost: u32,
    pub penalty: u32,
}

impl LabelScore {
    pub fn boost(&self) -> f64 {
        f64::from(self.boost) / 10_000.0
    }

    pub fn penalty(&self) -> f64 {
        f64::from(self.penalty) / 10_000.0
    }

    /// `min(1, (5 + boost − penalty) / 10)` in units of 0.00001.
    pub fn label_only_units(&self) -> u32 {
        let units = 50_000i64 + i64::from(self.boost) - i64::from(self.penalty);
        units.clamp(0, 100_000) as u32
    }

    /// The label-only final score in [0, 1].
    pub fn label_only(&self) -> f64 {
        f64::from(self.label_only_units()) / 100_000.0
    }

    /// The hybrid final score: `min(1, similarity + boost − penalty)`, floored at 0.
    pub fn hybrid(&self, similarity: f64) -> f64 {
        (similarity + self.boost() - self.penalty()).clamp(0.0, 1.0)
    }
}

const GITOPS_MANAGED: u32 = 1000;
const GITOPS_TOOL: u32 = 1000;
const GITOPS_TOOL_WILDCARD: u32 = 500;
const PDB_PROTECTED: u32 = 500;
const SERVICE_MESH: u32 = 500;
const SERVICE_MESH_WILDCARD: u32 = 250;
const NETWORK_ISOLATED: u32 = 300;
const MINOR_FLAG: u32 = 200; // helmManaged, stateful, hpaEnabled
const CUSTOM_EXACT: u32 = 500;
const CUSTOM_WILDCARD: u32 = 250;

/// DD-WORKFLOW-004 boosts and penalties of a workflow's labels against the incident's.
/// A boost applies only when the query sets the label (and its detection did not fail).
pub fn score_labels(
    query: &SearchFilters,
    detected: &DetectedLabels,
    custom: &CustomLabels,
) -> LabelScore {
    let q = &query.detected;
    let mut s = LabelScore::default();
    let asked = |flag: Option<bool>, field: DetectedField| flag == Some(true) && !q.failed(field);

    if asked(q.git_ops_managed, DetectedField::GitOpsManaged) {
        if detected.git_ops_managed == Some(true) {
            s.boost += GITOPS_MANAGED;
        } else {
            s.penalty += GITOPS_MANAGED;
        }
    }
    if let Some(tool) = q.git_ops_tool.filter(|t| *t != GitOpsTool::Any)
        && !q.failed(DetectedField::GitOpsManaged)
    {
        match detected.git_ops_tool {
            Some(t) if t == tool => s.boost += GITOPS_TOOL,
            Some(GitOpsTool::Any) => s.boost += GITOPS_TOOL_WILDCARD,
            Some(_) => s.penalty += GITOPS_TOOL,
            None => {}
        }
    }
    let flags = [
        (
            q.pdb_protected,
            detected.pdb_protected,
            DetectedField::PdbProtected,
            PDB_PROTECTED,
        ),
        (
            q.network_isolated,
            detected.network_isolated,
            DetectedField::NetworkIsolated,
            NETWORK_ISOLATED,
        ),
        (
            q.helm_managed,
            detected.helm_managed,
            DetectedField::HelmManaged,
            MINOR_FLAG,
        ),
        (
            q.stateful,
            detected.stateful,
            DetectedField::Stateful,
            MINOR_FLAG,
        ),
        (
            q.hpa_enabled,
            detected.hpa_enabled,
            DetectedField::HpaEnabled,
            MINOR_FLAG,
        ),
    ];
    for (asked_flag, has, field, points) in flags {
        if asked(asked_flag, field) && has == Some(true) {
            s.boost += points;
        }
    }
    if let Some(mesh) = q.service_mesh.filter(|m| *m != ServiceMesh::Any)
        && !q.failed(DetectedField::ServiceMesh)
    {
        match detected.service_mesh {
            Some(m) if m == mesh => s.boost += SERVICE_MESH,
            Some(ServiceMesh::Any) => s.boost += SERVICE_MESH_WILDCARD,
            _ => {}
        }
    }
    for (key, wanted) in query.custom.as_map() {
        let Some(offered) = custom.as_map().get(key) else {
            continue;
        };
        for value in wanted {
            if offered.iter().any(|o| o == value) {
                s.boost += CUSTOM_EXACT;
            } else if offered.iter().any(|o| o == "*") {
                s.boost += CUSTOM_WILDCARD;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn query(detected: DetectedLabels, custom: CustomLabels) -> SearchFilters {
        SearchFilters::parse(
            "OOMKilled".into(),
            "critical",
            "pod".into(),
            "production".into(),
            "P0",
            detected,
            custom,
        )
        .unwrap()
    }

    fn detected_strategy() -> impl Strategy<Value = DetectedLabels> {
        let flag = || proptest::option::of(any::<bool>());
        let tool = proptest::option::of(prop_oneof![
            Just(GitOpsTool::ArgoCd),
            Just(GitOpsTool::Flux),
            Just(GitOpsTool::Any)
        ]);
        let mesh = proptest::option::of(prop_oneof![
            Just(ServiceMesh::Istio),
            Just(ServiceMesh::Linkerd),
            Just(ServiceMesh::Any)
        ]);
        (flag(), tool, flag(), flag(), flag(), flag(), flag(), mesh).prop_map(
            |(g, t, p, h, s, hm, n, m)| DetectedLabels {
                git_ops_managed: g,
                git_ops_tool: t,
                pdb_protected: p,
                hpa_enabled: h,
                stateful: s,
                helm_managed: hm,
                network_isolated: n,
                service_mesh: m,
                failed_detections: vec![],
            },
        )
    }

    fn custom_strategy() -> impl Strategy<Value = CustomLabels> {
        proptest::collection::btree_map(
            "[a-c]",
            proptest::collection::vec(
                prop_oneof![
                    Just("x".to_string()),
                    Just("y".to_string()),
                    Just("*".to_string())
                ],
                0..3,
            ),
            0..3,
        )
        .prop_map(|m| CustomLabels::parse(m).unwrap())
    }

    proptest! {
        #[test]
        fn scores_stay_in_0_to_1(q in detected_strategy(), qc in custom_strategy(), w in detected_strategy(), wc in custom_strategy(), sim in -1.0f64..1.0) {
            let s = score_labels(&query(q, qc), &w, &wc);
            prop_assert!((0.0..=1.0).contains(&s.label_only()));
            prop_assert!((0.0..=1.0).contains(&s.hybrid(sim)));
            prop_assert!(s.penalty <= 2000, "at most 0.20 of penalty");
        }

        #[test]
        fn a_matching_custom_label_never_lowers_a_score(q in detected_strategy(), qc in custom_strategy(), w in detected_strategy(), wc in custom_strategy()) {
            let query = query(q, qc.clone());
            let before = score_labels(&query, &w, &wc);
            let mut more = wc.as_map().clone();
            for (k, vals) in qc.as_map() {
                more.entry(k.clone()).or_default().extend(vals.iter().cloned());
            }
            let after = score_labels(&query, &w, &CustomLabels::parse(more).unwrap());
            prop_assert!(after.label_only_units() >= before.label_only_units());
        }

        #[test]
        fn an_unrelated_label_never_changes_a_score(q in detected_strategy(), qc in custom_strategy(), w in detected_strategy(), wc in custom_strategy()) {
            let query = query(q, qc);
            let before = score_labels(&query, &w, &wc);
            let mut more = wc.as_map().clone();
            more.insert("unrelated-key".into(), vec!["z".into()]);
            prop_assert_eq!(score_labels(&query, &w, &CustomLabels::parse(more).unwrap()), before);
        }
    }

    #[test]
    fn wildcards_score_below_exact_matches() {
        let q = DetectedLabels {
            service_mesh: Some(ServiceMesh::Istio),
            git_ops_tool: Some(GitOpsTool::ArgoCd),
            ..Default::default()
        };
        let query = query(
            q,
            CustomLabels::parse(BTreeMap::from([("team".into(), vec!["payments".into()])]))
                .unwrap(),
        );
        let exact = DetectedLabels {
            service_mesh: Some(ServiceMesh::Istio),
            git_ops_tool: Some(GitOpsTool::ArgoCd),
            ..Default::default()
        };
        let wild = DetectedLabels {
            service_mesh: Some(ServiceMesh::Any),
            git_ops_tool: Some(GitOpsTool::Any),
            ..Default::default()
        };
        let exact_custom =
            CustomLabels::parse(BTreeMap::from([("team".into(), vec!["payments".into()])]))
                .unwrap();
        let wild_custom =
            CustomLabels::parse(BTreeMap::from([("team".into(), vec!["*".into()])])).unwrap();
        let e = score_labels(&query, &exact, &exact_custom);
        let w = score_labels(&query, &wild, &wild_custom);
        assert_eq!(e.boost, 1000 + 500 + 500);
        assert_eq!(w.boost, 500 + 250 + 250);
        assert!(w.label_only() < e.label_only());
    }

    #[test]
    fn the_label_only_formula() {
        assert_eq!(
            LabelScore {
                boost: 0,
                penalty: 0
            }
            .label_only(),
            0.5
        );
        assert_eq!(
            LabelScore {
                boost: 3900,
                penalty: 0
            }
            .label_only(),
            0.539
        );
        assert_eq!(
            LabelScore {
                boost: 0,
                penalty: 2000
            }
            .label_only(),
            0.48
        );
        assert_eq!(
            LabelScore {
                boost: 250,
                penalty: 0
            }
            .label_only(),
            0.5025
        );
    }
}
