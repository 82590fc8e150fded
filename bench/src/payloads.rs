//! The request bodies the load generator sends: events, workflows, searches.

use serde_json::json;

const SIGNALS: [&str; 20] = [
    "OOMKilled",
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "NodeNotReady",
    "DiskPressure",
    "MemoryPressure",
    "PIDPressure",
    "CertificateExpiring",
    "HPAMaxedOut",
    "PodPending",
    "Evicted",
    "ContainerCreating",
    "NetworkUnavailable",
    "HighLatency",
    "HighErrorRate",
    "VolumeFull",
    "DeploymentStuck",
    "JobFailed",
    "DNSFailure",
    "ThrottledCPU",
];
const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// A workflow spread over 20 signal types x 4 severities, a tenth with wildcards, and a mix
/// of detected and custom labels, so a search's hard filters keep about 1/80 of the catalog.
pub(crate) fn workflow(i: u64) -> Vec<u8> {
    let pick = |n: u64, of: u64| n % of;
    let mesh = ["istio", "linkerd", "*"][pick(i, 3) as usize];
    let team = ["payments", "search", "*"][pick(i, 3) as usize];
    let body = json!({
        "workflow_name": format!("bench-wf-{i}"),
        "version": "1.0.0",
        "name": format!("Remediation {i}"),
        "description": "Benchmark workflow: raises limits and restarts the workload",
        "content": format!("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: bench-{i}\n"),
        "labels": {
            "signal_type": SIGNALS[pick(i, 20) as usize],
            "severity": SEVERITIES[pick(i / 20, 4) as usize],
            "component": if pick(i, 10) == 0 { "*" } else { "pod" },
            "environment": if pick(i, 7) == 0 { "*" } else { "production" },
            "priority": if pick(i, 3) == 0 { "*" } else { "P0" },
        },
        "detected_labels": {"gitOpsManaged": pick(i, 2) == 0, "pdbProtected": pick(i, 3) == 0,
                            "serviceMesh": mesh},
        "custom_labels": {"team": [team]},
        "execution_engine": "argo-workflows",
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

pub(crate) fn search_body(query: Option<String>) -> Vec<u8> {
    let mut body = json!({
        "filters": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                    "environment": "production", "priority": "P0",
                    "detected_labels": {"gitOpsManaged": true, "pdbProtected": true, "serviceMesh": "istio"},
                    "custom_labels": {"team": ["payments"]}},
        "top_k": 10,
    });
    if let Some(q) = query {
        body["query"] = json!(q);
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A small deterministic generator (xorshift64*): payload sizes and ids vary per request
/// without a dependency, and runs are repeatable.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [lo, hi].
    pub(crate) fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi.saturating_sub(lo) as u64 + 1)) as usize
    }
}

/// Appends an event whose event_data serialises to `data_bytes` bytes (give or take a few).
/// Written as text rather than built as a `serde_json::Value`: the load generator shares the
/// cores with what it measures, and building a map per event cost a tenth of the machine
/// during the batch run (pgbench, the ceiling, generates its rows inside PostgreSQL).
pub(crate) fn write_event(
    out: &mut Vec<u8>,
    client: usize,
    n: u64,
    data_bytes: usize,
    timestamp: &str,
) {
    use std::io::Write;
    const FIXED: usize = 90; // event_data without the note
    const X: &[u8] = &[b'x'; 4096];
    let _ = write!(
        out,
        r#"{{"version":"1.0","event_type":"gateway.signal.received","event_timestamp":"{timestamp}","event_category":"gateway","event_action":"received","event_outcome":"success","actor_type":"service","actor_id":"gateway-service","resource_type":"Signal","resource_id":"fp-{client}-{n}","correlation_id":"bench-{client}-{}","severity":"critical","namespace":"payments","event_data":{{"signal":"HighCPU","request":{n},"labels":{{"team":"payments","tier":"1"}},"note":""#,
        n / 10
    );
    let mut note = data_bytes.saturating_sub(FIXED);
    while note > 0 {
        let part = note.min(X.len());
        out.extend_from_slice(&X[..part]);
        note -= part;
    }
    out.extend_from_slice(b"\"}}");
}

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
