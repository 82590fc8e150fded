//! What a client of a Redis Cluster needs beyond redis-rs's cluster connection: the slot of a
//! key (for the enqueue's own connections, which find the stream's master themselves), the
//! owner of a slot in a `CLUSTER SLOTS` reply, a `MOVED`/`ASK` redirect, and commands sent to
//! one chosen node (a setting read from the master that owns the stream, a `SCAN` on every
//! master).

use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{ConnectionAddr, ConnectionInfo, RedisResult, Value};

use crate::connection::RedisConn;
use crate::resp::Reply;

/// Slots of a cluster.
const SLOTS: u16 = 16384;

/// CRC16/XMODEM (polynomial 0x1021, no reflection), the checksum Redis Cluster hashes keys with.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in bytes {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The slot of `key`: of its hash tag (the text between its first `{` and the next `}`) when
/// that is not empty, else of the whole key.
pub(crate) fn slot(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|b| *b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        rest.iter()
            .position(|b| *b == b'}')
            .filter(|close| *close > 0)
            .map(|close| &rest[..close])
    });
    crc16(tagged.unwrap_or(key)) % SLOTS
}

/// A node as `CLUSTER SLOTS` and redirects name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Node {
    /// `host:port` (the last colon splits, so an IPv6 host keeps its own).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (host, port) = text.rsplit_once(':')?;
        Some(Self {
            host: host.to_owned(),
            port: port.parse().ok()?,
        })
    }

    /// How to reach this node: `like`'s scheme, TLS parameters and credentials, this address.
    pub(crate) fn info(&self, like: &ConnectionInfo) -> ConnectionInfo {
        let addr = match like.addr() {
            ConnectionAddr::TcpTls {
                insecure,
                tls_params,
                ..
            } => ConnectionAddr::TcpTls {
                host: self.host.clone(),
                port: self.port,
                insecure: *insecure,
                tls_params: tls_params.clone(),
            },
            _ => ConnectionAddr::Tcp(self.host.clone(), self.port),
        };
        like.clone().set_addr(addr)
    }
}

/// A redirect in an error reply: `MOVED <slot> <host:port>` (the slot has moved: send there
/// from now on) or `ASK <slot> <host:port>` (it is moving: send this one command there,
/// after `ASKING`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Redirect {
    Moved(Node),
    Ask(Node),
}

impl Redirect {
    pub(crate) fn of(error: &str) -> Option<Self> {
        let mut words = error.split_whitespace();
        let kind = words.next()?;
        let _slot = words.next()?;
        let node = Node::parse(words.next()?)?;
        match kind {
            "MOVED" => Some(Redirect::Moved(node)),
            "ASK" => Some(Redirect::Ask(node)),
            _ => None,
        }
    }
}

fn text(reply: &Reply) -> Option<String> {
    match reply {
        Reply::Bulk(Some(b)) => String::from_utf8(b.clone()).ok(),
        Reply::Status(s) => Some(s.clone()),
        _ => None,
    }
}

/// From a `CLUSTER SLOTS` reply: the master serving `slot`, and every node named. A master
/// announced without a host (`""`) is on the host that was asked (`asked`).
pub(crate) fn owner_of(reply: &Reply, slot: u16, asked: &str) -> (Option<Node>, Vec<Node>) {
    let Reply::Array(Some(ranges)) = reply else {
        return (None, Vec::new());
    };
    let mut owner = None;
    let mut nodes = Vec::new();
    for range in ranges {
        let Reply::Array(Some(parts)) = range else {
            continue;
        };
        let bound = |i: usize| match parts.get(i) {
            Some(Reply::Integer(n)) => Some(*n),
            _ => None,
        };
        let (Some(start), Some(end)) = (bound(0), bound(1)) else {
            continue;
        };
        for (i, node) in parts.iter().enumerate().skip(2) {
            let Reply::Array(Some(fields)) = node else {
                continue;
            };
            let host = fields.first().and_then(text).unwrap_or_default();
            let port = match fields.get(1) {
                Some(Reply::Integer(p)) => u16::try_from(*p).ok(),
                _ => None,
            };
            let Some(port) = port else { continue };
            let host = if host.is_empty() || host == "?" {
                asked.to_owned()
            } else {
                host
            };
            let node = Node { host, port };
            if i == 2 && (start..=end).contains(&i64::from(slot)) {
                owner = Some(node.clone());
            }
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
    }
    (owner, nodes)
}

impl RedisConn {
    /// Whether this is a cluster connection.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, RedisConn::Cluster(_))
    }

    /// Runs `cmd` on the master that owns `key`'s slot (on a single server: on it).
    pub(crate) async fn on_master_of(&mut self, cmd: redis::Cmd, key: &str) -> RedisResult<Value> {
        match self {
            RedisConn::Single(_) => cmd.query_async(self).await,
            RedisConn::Cluster(c) => {
                let route = Route::new(slot(key.as_bytes()), SlotAddr::Master);
                c.route_command(
                    cmd,
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)),
                )
                .await
            }
        }
    }

    /// Runs `cmd` on `node` (on a single server: on it).
    pub(crate) async fn on_node(&mut self, cmd: redis::Cmd, node: &Node) -> RedisResult<Value> {
        match self {
            RedisConn::Single(_) => cmd.query_async(self).await,
            RedisConn::Cluster(c) => {
                c.route_command(
                    cmd,
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                        host: node.host.clone(),
                        port: node.port,
                    }),
                )
                .await
            }
        }
    }

    /// Every master of the cluster, from `CLUSTER SLOTS` (on a single server: none, meaning
    /// the server itself).
    pub(crate) async fn masters(&mut self) -> RedisResult<Vec<Node>> {
        let RedisConn::Cluster(c) = self else {
            return Ok(Vec::new());
        };
        let reply = c
            .route_command(
                redis::cmd("CLUSTER").arg("SLOTS").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await?;
        let mut masters: Vec<Node> = Vec::new();
        if let Value::Array(ranges) = reply {
            for range in ranges {
                let Value::Array(parts) = range else { continue };
                let Some(Value::Array(master)) = parts.get(2) else {
                    continue;
                };
                let host: Option<String> = master
                    .first()
                    .and_then(|h| redis::from_redis_value_ref(h).ok());
                let port: Option<u16> = master
                    .get(1)
                    .and_then(|p| redis::from_redis_value_ref(p).ok());
                if let (Some(host), Some(port)) = (host, port) {
                    let node = Node { host, port };
                    if !masters.contains(&node) {
                        masters.push(node);
                    }
                }
            }
        }
        Ok(masters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_those_redis_computes() {
        // Values from `CLUSTER KEYSLOT` of Redis 7.
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"123456789"), 12739);
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"a:{tag}:b"), slot(b"x{tag}y"));
        assert_eq!(slot(b"{}x"), slot(b"{}x"));
        assert_ne!(
            slot(b"{}x"),
            slot(b"x"),
            "an empty tag hashes the whole key"
        );
    }

    #[test]
    fn redirects_and_their_nodes_are_read() {
        assert_eq!(
            Redirect::of("MOVED 3999 127.0.0.1:6381"),
            Some(Redirect::Moved(Node {
                host: "127.0.0.1".into(),
                port: 6381
            }))
        );
        assert_eq!(
            Redirect::of("ASK 1 ::1:7000"),
            Some(Redirect::Ask(Node {
                host: "::1".into(),
                port: 7000
            }))
        );
        assert_eq!(Redirect::of("CLUSTERDOWN The cluster is down"), None);
        assert_eq!(Redirect::of("NOSCRIPT No matching script"), None);
    }

    #[test]
    fn the_owner_of_a_slot_is_the_first_node_of_its_range() {
        let node = |host: &str, port: i64| {
            Reply::Array(Some(vec![
                Reply::Bulk(Some(host.as_bytes().to_vec())),
                Reply::Integer(port),
                Reply::Bulk(Some(b"id".to_vec())),
            ]))
        };
        let reply = Reply::Array(Some(vec![
            Reply::Array(Some(vec![
                Reply::Integer(0),
                Reply::Integer(8191),
                node("10.0.0.1", 7000),
                node("10.0.0.2", 7001),
            ])),
            Reply::Array(Some(vec![
                Reply::Integer(8192),
                Reply::Integer(16383),
                node("", 7002),
                node("10.0.0.4", 7003),
            ])),
        ]));
        let (owner, nodes) = owner_of(&reply, 9000, "10.0.0.9");
        assert_eq!(
            owner,
            Some(Node {
                host: "10.0.0.9".into(),
                port: 7002
            })
        );
        assert_eq!(nodes.len(), 4);
        assert_eq!(owner_of(&reply, 5, "x").0.map(|n| n.port), Some(7000));
    }
}
