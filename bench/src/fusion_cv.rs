//! Choosing the fusion weights ([`FusionWeights`]) by leave-one-signal-type-out
//! cross-validation over the evaluation set.
//!
//! Each query's candidates are searched once (their label score, similarity and lexical
//! score recorded); every weight pair of a grid then re-ranks them with the domain's own
//! [`fuse`] and the use-case's order (`final_score` in millionths DESC, `workflow_id` ASC).
//! For each signal type, the pair with the best mean nDCG@5 on the *other* types is chosen
//! and scored on the held-out type; the held-out scores, together, are the cross-validated
//! estimate. The default weights are the per-weight median of the ten folds' choices. Fitting
//! all queries at once is reported beside it, as the optimistic figure it is.

use std::collections::BTreeMap;

use datastorage_domain::workflow::{FusionWeights, LabelScore, fuse};
use uuid::Uuid;

use crate::retrieval::{Metrics, mean, metrics};

/// One candidate's evidence, as the hybrid search saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    pub id: Uuid,
    pub key: String,
    pub labels: LabelScore,
    pub similarity: Option<f64>,
    pub lexical: Option<f64>,
}

/// One query's candidates and graded relevance; `group` is its signal type (the fold).
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySignals {
    pub group: String,
    pub relevance: BTreeMap<String, u32>,
    pub candidates: Vec<Signals>,
}

/// One fold: the held-out signal type and the weights chosen without it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    pub held_out: String,
    pub chosen: FusionWeights,
    pub held_out_metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    pub folds: Vec<Fold>,
    /// Every query scored by the weights chosen without its signal type.
    pub held_out: Metrics,
    /// The per-weight median of the folds' choices: the default weights.
    pub chosen: FusionWeights,
    /// All queries scored with `chosen`.
    pub chosen_on_all: Metrics,
    /// The best pair when fitting all queries at once, and its (optimistic) metrics.
    pub fit_all: FusionWeights,
    pub fit_all_metrics: Metrics,
}

impl CrossValidation {
    pub fn markdown(&self) -> String {
        let m = |m: &Metrics| format!("nDCG@5 {:.3}, top-1 {}", m.ndcg_at_5, m.top_1);
        let mut lines = vec![
            "Fusion weights by leave-one-signal-type-out cross-validation (grid: lexical 0 to 1 by 0.05, labels 0, 0.5, 1, 1.5, 2, 3, 4):".to_string(),
            String::new(),
            "| held-out signal type | chosen lexical | chosen labels | held-out nDCG@5 | held-out top-1 |".into(),
            "|---|---|---|---|---|".into(),
        ];
        for f in &self.folds {
            lines.push(format!(
                "| {} | {} | {} | {:.3} | {} |",
                f.held_out,
                f.chosen.lexical,
                f.chosen.labels,
                f.held_out_metrics.ndcg_at_5,
                f.held_out_metrics.top_1
            ));
        }
        lines.extend([
            String::new(),
            format!("- cross-validated (each query scored by weights chosen without its signal type): {}", m(&self.held_out)),
            format!(
                "- default weights (median of the folds' choices): lexical {}, labels {}; on all queries: {}",
                self.chosen.lexical, self.chosen.labels, m(&self.chosen_on_all)
            ),
            format!(
                "- fit on all queries at once (optimistic): lexical {}, labels {}: {}",
                self.fit_all.lexical, self.fit_all.labels, m(&self.fit_all_metrics)
            ),
        ]);
        lines.join("\n")
    }
}

fn grid() -> Vec<FusionWeights> {
    let mut grid = Vec::new();
    for labels in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0] {
        for step in 0..=20 {
            grid.push(FusionWeights {
                lexical: f64::from(step) / 20.0,
                labels,
            });
        }
    }
    grid
}

/// The query's ranking under `weights`, as the use-case orders it.
fn rank(query: &QuerySignals, weights: FusionWeights) -> Vec<String> {
    let mut scored: Vec<(i64, Uuid, &str)> = query
        .candidates
        .iter()
        .map(|c| {
            let f = fuse(weights, c.labels, c.similarity, c.lexical).final_score;
            ((f * 1_000_000.0).round() as i64, c.id, c.key.as_str())
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, k)| k.to_owned()).collect()
}

fn score(queries: &[&QuerySignals], weights: FusionWeights) -> Vec<Metrics> {
    queries
        .iter()
        .map(|q| metrics(&rank(q, weights), &q.relevance))
        .collect()
}

/// The grid's best pair on `queries`: highest mean nDCG@5, then most top-1, then the
/// lexical weight nearest an even split (the landscape is flat; prefer the middle).
fn best(queries: &[&QuerySignals]) -> FusionWeights {
    let mut best: Option<(f64, usize, f64, FusionWeights)> = None;
    for weights in grid() {
        let m = mean(&score(queries, weights));
        let candidate = (
            m.ndcg_at_5,
            m.top_1,
            -(weights.lexical - 0.5).abs(),
            weights,
        );
        let better = best.as_ref().is_none_or(|b| {
            (candidate.0, candidate.1, candidate.2)
                .partial_cmp(&(b.0, b.1, b.2))
                .is_some_and(|o| o.is_gt())
        });
        if better {
            best = Some(candidate);
        }
    }
    best.map_or(FusionWeights::DEFAULT, |b| b.3)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

pub fn cross_validate(queries: &[QuerySignals]) -> CrossValidation {
    let groups: Vec<&str> = {
        let mut g: Vec<&str> = queries.iter().map(|q| q.group.as_str()).collect();
        g.sort_unstable();
        g.dedup();
        g
    };
    let mut folds = Vec::new();
    let mut held_out = Vec::new();
    for group in groups {
        let train: Vec<&QuerySignals> = queries.iter().filter(|q| q.group != group).collect();
        let test: Vec<&QuerySignals> = queries.iter().filter(|q| q.group == group).collect();
        let chosen = best(&train);
        let scored = score(&test, chosen);
        held_out.extend(scored.iter().copied());
        folds.push(Fold {
            held_out: group.to_owned(),
            chosen,
            held_out_metrics: mean(&scored),
        });
    }
    let chosen = FusionWeights {
        lexical: median(folds.iter().map(|f| f.chosen.lexical).collect()),
        labels: median(folds.iter().map(|f| f.chosen.labels).collect()),
    };
    let all: Vec<&QuerySignals> = queries.iter().collect();
    let fit_all = best(&all);
    CrossValidation {
        held_out: mean(&held_out),
        chosen_on_all: mean(&score(&all, chosen)),
        fit_all_metrics: mean(&score(&all, fit_all)),
        fit_all,
        chosen,
        folds,
    }
}
