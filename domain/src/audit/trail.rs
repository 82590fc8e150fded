//! The trail of one correlation: its events arranged as a parent/child forest.

use std::collections::{HashMap, HashSet};

use super::event::AuditEvent;
use super::fields::EventId;

/// One event of a trail, with its place in the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailNode {
    pub event: AuditEvent,
    /// 0 for a root (no parent, or a parent outside the trail).
    pub depth: u32,
    /// Direct children, in trail order.
    pub children: Vec<EventId>,
}

/// Arranges events in depth-first pre-order: each parent before its children, siblings and
/// roots oldest first (`event_timestamp`, then `event_id`). The result is flat so that a deep
/// chain cannot exhaust the stack of whoever serialises it. Every event appears exactly once,
/// even when parent links form a cycle (the oldest event of a cycle becomes a root).
pub fn build_trail(mut events: Vec<AuditEvent>) -> Vec<TrailNode> {
    events.sort_by_key(|e| (e.event_timestamp, e.event_id));
    let ids: HashSet<EventId> = events.iter().map(|e| e.event_id).collect();
    let mut children: HashMap<EventId, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match e.parent_event_id {
            Some(parent) if ids.contains(&parent) => children.entry(parent).or_default().push(i),
            _ => roots.push(i),
        }
    }

    let mut order: Vec<(usize, u32)> = Vec::with_capacity(events.len());
    let mut visited = vec![false; events.len()];
    let mut visit = |start: usize, order: &mut Vec<(usize, u32)>| {
        let mut stack = vec![(start, 0u32)];
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            order.push((i, depth));
            if let Some(kids) = children.get(&events[i].event_id) {
                stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
            }
        }
    };
    for &root in &roots {
        visit(root, &mut order);
    }
    // Events only reachable through a cycle: start from the oldest unvisited one.
    for i in 0..events.len() {
        visit(i, &mut order);
    }

    let kids_of = |id: &EventId| -> Vec<EventId> {
        children
            .get(id)
            .map(|k| k.iter().map(|&i| events[i].event_id).collect())
            .unwrap_or_default()
    };
    let nodes: Vec<(u32, Vec<EventId>)> = order
        .iter()
        .map(|&(i, depth)| (depth, kids_of(&events[i].event_id)))
        .collect();
    let mut slots: Vec<Option<AuditEvent>> = events.into_iter().map(Some).collect();
    order
        .iter()
        .zip(nodes)
        .filter_map(|(&(i, _), (depth, children))| {
            slots[i].take().map(|event| TrailNode {
                event,
                depth,
                children,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEventDraft, EventRules};
    use chrono::{DateTime, Duration};
    use uuid::Uuid;

    fn event(n: u128, parent: Option<u128>, second: i64) -> AuditEvent {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        AuditEventDraft {
            event_id: Some(Uuid::from_u128(n).to_string()),
            version: "1.0".into(),
            event_type: "t".into(),
            event_timestamp: (now + Duration::seconds(second)).to_rfc3339(),
            event_category: "gateway".into(),
            event_action: "a".into(),
            event_outcome: "success".into(),
            actor_type: None,
            actor_id: None,
            resource_type: None,
            resource_id: None,
            resource_name: None,
            correlation_id: "c".into(),
            parent_event_id: parent.map(|p| Uuid::from_u128(p).to_string()),
            parent_event_date: None,
            trace_id: None,
            span_id: None,
            namespace: None,
            cluster_name: None,
            severity: None,
            duration_ms: None,
            error_code: None,
            error_message: None,
            event_data: serde_json::json!({}).into(),
            retention_days: None,
            is_sensitive: None,
        }
        .validate(&EventRules::default(), now, EventId::from_uuid(Uuid::nil()))
        .map(|n| n.event)
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn shape(nodes: &[TrailNode]) -> Vec<(u128, u32)> {
        nodes
            .iter()
            .map(|n| (n.event.event_id.as_uuid().as_u128(), n.depth))
            .collect()
    }

    #[test]
    fn children_follow_their_parent_in_pre_order() {
        let events = vec![
            event(4, Some(2), 4),
            event(1, None, 1),
            event(2, Some(1), 2),
            event(3, Some(1), 3),
            event(5, None, 5),
        ];
        let trail = build_trail(events);
        assert_eq!(shape(&trail), [(1, 0), (2, 1), (4, 2), (3, 1), (5, 0)]);
        assert_eq!(trail[0].children.len(), 2);
    }

    #[test]
    fn an_orphan_is_a_root_and_a_cycle_loses_nothing() {
        let trail = build_trail(vec![
            event(1, Some(99), 1),
            event(2, Some(3), 2),
            event(3, Some(2), 3),
        ]);
        assert_eq!(shape(&trail), [(1, 0), (2, 0), (3, 1)]);
    }
}
