//! A Redis Cluster on loopback: 3 masters and 3 replicas of Debian's `redis-server`, each
//! with `cluster-enabled yes` and AOF fsynced on every write, joined by
//! `redis-cli --cluster create`. Ready once every node says `cluster_state:ok` and every
//! master has its replica online (polled, never slept on).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::processes::free_port;

/// One node: its client port, the port of its cluster bus, its directory, and the shell that
/// owns its process (closing the shell's stdin stops the server).
struct Node {
    port: u16,
    bus_port: u16,
    dir: PathBuf,
    shell: Option<Child>,
}

pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
}

/// How long a node may go unheard before the others call it failed and its replica takes
/// over. Short enough for a failover test, long enough that two busy cores do not fake one.
const NODE_TIMEOUT_MS: u64 = 2000;
/// How long starting the cluster or a failover may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(90);

fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Polls `check` until it holds, or fails the test naming `what` after [`DEADLINE`].
fn poll(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A line of `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <master id> ... <slot ranges>`.
struct NodeLine {
    id: String,
    port: u16,
    flags: String,
    master_id: String,
    slots: Vec<(u16, u16)>,
}

fn cluster_nodes(port: u16) -> Vec<NodeLine> {
    cli(port, &["CLUSTER", "NODES"])
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let address = fields.get(1)?.split('@').next()?;
            let port = address.rsplit_once(':')?.1.parse().ok()?;
            let slots = fields
                .iter()
                .skip(8)
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| match s.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => s.parse().ok().map(|one| (one, one)),
                })
                .collect();
            Some(NodeLine {
                id: (*fields.first()?).to_owned(),
                port,
                flags: (*fields.get(2)?).to_owned(),
                master_id: (*fields.get(3)?).to_owned(),
                slots,
            })
        })
        .collect()
}

impl RedisCluster {
    /// Starts six nodes, creates the cluster (a replica per master) and waits until it is
    /// whole.
    pub fn start_new() -> Self {
        let base = std::env::var("DS_SERVICES_DIR")
            .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
        let dir =
            PathBuf::from(base).join(format!("redis-cluster-{}", uuid::Uuid::now_v7().simple()));
        let mut nodes = Vec::new();
        for i in 0..6 {
            let node_dir = dir.join(format!("node-{i}"));
            std::fs::create_dir_all(&node_dir).expect("node dir");
            nodes.push(Node {
                port: free_port(),
                bus_port: free_port(),
                dir: node_dir,
                shell: None,
            });
        }
        let mut cluster = Self { nodes, dir };
        for i in 0..cluster.nodes.len() {
            cluster.start_node(i);
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.wait_until_whole();
        cluster
    }

    /// Starts node `i` on its data (a restarted node rejoins with its `nodes.conf`).
    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let mut redis = Command::new("redis-server");
        redis
            .args(["--bind", "127.0.0.1", "--port", &node.port.to_string()])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-port", &node.bus_port.to_string()])
            .args(["--cluster-config-file", "nodes.conf"])
            .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
            // A replica may take over however long it was cut off: the test kills masters.
            .args(["--cluster-replica-validity-factor", "0"])
            .arg("--dir")
            .arg(&node.dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ]);
        // Under `sh`, which stops the server once its stdin closes (this process ended or
        // the handle was dropped), so no node outlives the tests.
        let shell = Command::new("sh")
            .args(["-c", "\"$0\" \"$@\" & read _; kill $! 2>/dev/null"])
            .arg(redis.get_program())
            .args(redis.get_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server under sh");
        node.shell = Some(shell);
        let port = node.port;
        poll("a cluster node answers PING", || {
            cli(port, &["PING"]).starts_with("PONG")
        });
    }

    /// Every node's client port.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// Every node as a seed: `redis://127.0.0.1:<port>/,...`.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}/", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Waits until every running node says `cluster_state:ok` with all slots served, and
    /// every master's replicas are online (a `WAIT 1` can then be answered).
    pub fn wait_until_whole(&self) {
        let ports: Vec<u16> = self
            .nodes
            .iter()
            .filter(|n| n.shell.is_some())
            .map(|n| n.port)
            .collect();
        poll("the Redis Cluster is whole", || {
            ports.iter().all(|p| {
                let info = cli(*p, &["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            }) && {
                let nodes = cluster_nodes(ports[0]);
                let masters: Vec<&NodeLine> = nodes
                    .iter()
                    .filter(|n| n.flags.contains("master") && !n.slots.is_empty())
                    .collect();
                masters.len() == 3
                    && masters.iter().all(|m| {
                        let replication = cli(m.port, &["INFO", "replication"]);
                        let online = replication.matches("state=online").count();
                        let replicas = nodes.iter().filter(|n| n.master_id == m.id).count();
                        replicas >= 1 && online == replicas
                    })
            }
        });
    }

    /// The client port of the master serving `key`'s slot.
    pub fn master_of(&self, key: &str) -> u16 {
        self.serving(self.nodes[0].port, key)
            .expect("a master for the slot")
    }

    /// The master serving `key`'s slot as the node on `via` sees it, if one does (none while
    /// a failed master's replica is not yet promoted).
    fn serving(&self, via: u16, key: &str) -> Option<u16> {
        let slot: u16 = cli(via, &["CLUSTER", "KEYSLOT", key]).trim().parse().ok()?;
        cluster_nodes(via)
            .into_iter()
            .find(|n| {
                n.flags.contains("master")
                    && !n.flags.contains("fail")
                    && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
            })
            .map(|n| n.port)
    }

    /// Kills the node on `port` with SIGKILL, as a crash would.
    pub fn kill(&mut self, port: u16) -> usize {
        let i = self
            .nodes
            .iter()
            .position(|n| n.port == port)
            .expect("a node on that port");
        let info = cli(port, &["INFO", "server"]);
        let pid = info
            .lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .map(|p| p.trim().to_owned())
            .expect("the node's process id");
        let status = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        poll("the killed node stops answering", || {
            !cli(port, &["PING"]).starts_with("PONG")
        });
        // Its shell waits on stdin; closing it ends the shell (its server is gone).
        if let Some(mut shell) = self.nodes[i].shell.take() {
            drop(shell.stdin.take());
            let _ = shell.wait();
        }
        i
    }

    /// Waits until a surviving node serves `key`'s slot as master, in place of `dead`, and
    /// the surviving nodes say `cluster_state:ok`.
    pub fn wait_for_failover(&self, dead: u16, key: &str) {
        let alive: Vec<u16> = self
            .nodes
            .iter()
            .filter(|n| n.port != dead && n.shell.is_some())
            .map(|n| n.port)
            .collect();
        poll(
            "a replica is promoted in place of the killed master",
            || {
                alive.iter().all(|p| {
                    cli(*p, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
                        && self
                            .serving(*p, key)
                            .is_some_and(|master| alive.contains(&master))
                })
            },
        );
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut shell) = node.shell.take() {
                drop(shell.stdin.take());
                let _ = shell.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One Redis Cluster for the whole test process (the conformance suites make a queue per
/// case under fresh keys); its nodes stop when this process ends.
pub fn shared_redis_cluster() -> &'static RedisCluster {
    static SHARED: std::sync::OnceLock<RedisCluster> = std::sync::OnceLock::new();
    SHARED.get_or_init(RedisCluster::start_new)
}
