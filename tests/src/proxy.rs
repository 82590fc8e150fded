//! A loopback TCP proxy that a fault test puts between the service and one of its servers
//! (PostgreSQL, Redis), to make that server misbehave without touching the shared process:
//! hang it (every socket open, nothing moves, as if it were SIGSTOPped), slow it down, reset
//! its connections, or refuse new ones. Only the service's connections go through it, so the
//! test itself still reaches the server directly to count rows.
//!
//! Bytes are pumped chunk by chunk in each direction; the mode is looked at before every read
//! and before every write, so a change applies at the next chunk. A hang leaves what was
//! already sent in the kernel's buffers (and at most one chunk in ours): it is all delivered,
//! in order, once the proxy forwards again, exactly as a resumed server would read it.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Pass every chunk on at once.
    Forward,
    /// Read nothing and pass nothing on, in either direction; keep every socket open.
    /// Connections made meanwhile are accepted and held, not connected onwards.
    Hang,
    /// Pass every chunk on after this long (each direction, so a round trip pays twice).
    Delay(Duration),
    /// Reset every new connection as soon as it is accepted (existing ones keep flowing).
    Refuse,
}

/// A running proxy; it stops (and drops every connection) when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

struct Shared {
    target: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Bumped to reset every connection accepted before it.
    generation: watch::Sender<u64>,
    /// The ids of the connections alive now.
    live: watch::Sender<HashSet<u64>>,
    next_id: AtomicU64,
    /// Connections reset so far (by `reset_all`, by the trap, or refused).
    resets: watch::Sender<u64>,
    trap: Trap,
}

/// "Reset the next `armed` connections that send a chunk containing `marker`, in the middle of
/// the chunk they send after it": with the marker a `COPY` statement, that is in the middle of
/// the COPY's data.
struct Trap {
    marker: std::sync::Mutex<Vec<u8>>,
    armed: AtomicUsize,
}

impl Proxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            target,
            mode: watch::Sender::new(Mode::Forward),
            generation: watch::Sender::new(0),
            live: watch::Sender::new(HashSet::new()),
            next_id: AtomicU64::new(0),
            resets: watch::Sender::new(0),
            trap: Trap {
                marker: std::sync::Mutex::new(Vec::new()),
                armed: AtomicUsize::new(0),
            },
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Self {
            addr,
            shared,
            accept,
        }
    }

    /// A proxy in front of the server a URL names (`scheme://[user[:password]@]host:port/...`).
    pub async fn in_front_of(url: &str) -> Self {
        let authority = authority(url);
        let target = tokio::net::lookup_host(authority)
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("cannot resolve {authority}"));
        Self::start(target).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        url.replacen(authority(url), &self.addr.to_string(), 1)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.send_replace(mode);
    }

    pub fn mode(&self) -> Mode {
        *self.shared.mode.borrow()
    }

    /// Resets every connection open now (SO_LINGER 0, then close: both peers see a reset,
    /// not an orderly end), and returns once they are all gone.
    pub async fn reset_all(&self) {
        let doomed = self.shared.live.borrow().clone();
        self.shared.generation.send_modify(|g| *g += 1);
        let mut live = self.shared.live.subscribe();
        live.wait_for(|now| now.is_disjoint(&doomed))
            .await
            .expect("the proxy is alive");
    }

    /// Arms the trap: the next `count` connections that send a chunk containing `marker` are
    /// reset halfway through the next chunk they send (its first half is passed on).
    pub fn reset_after(&self, marker: &[u8], count: usize) {
        *self.shared.trap.marker.lock().expect("trap") = marker.to_vec();
        self.shared.trap.armed.store(count, Ordering::SeqCst);
    }

    /// Disarms the trap.
    pub fn disarm(&self) {
        self.shared.trap.armed.store(0, Ordering::SeqCst);
    }

    /// Connections reset so far.
    pub fn resets(&self) -> u64 {
        *self.shared.resets.borrow()
    }

    /// Returns once at least `n` connections have been reset.
    pub async fn wait_for_resets(&self, n: u64) {
        self.shared
            .resets
            .subscribe()
            .wait_for(|r| *r >= n)
            .await
            .expect("the proxy is alive");
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shared.live.borrow().len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Every connection task ends at the next generation.
        self.shared.generation.send_modify(|g| *g += 1);
    }
}

/// The `host:port` of a URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    host_and_path
        .split(['/', '?'])
        .next()
        .filter(|a| a.contains(':'))
        .unwrap_or_else(|| panic!("{url} names no host:port"))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if *shared.mode.borrow() == Mode::Refuse {
            reset(client);
            shared.resets.send_modify(|r| *r += 1);
            continue;
        }
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        let generation = *shared.generation.borrow();
        shared.live.send_modify(|live| {
            live.insert(id);
        });
        let shared = shared.clone();
        tokio::spawn(async move {
            let was_reset = connection(client, &shared, generation).await;
            if was_reset {
                shared.resets.send_modify(|r| *r += 1);
            }
            shared.live.send_modify(|live| {
                live.remove(&id);
            });
        });
    }
}

/// Closes a socket with a reset instead of a FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Why a connection's pumps stopped.
enum End {
    /// Both directions ended (a peer closed or failed): close quietly.
    Closed,
    /// Reset on purpose.
    Reset,
}

/// Serves one connection until it ends; true if the proxy reset it.
async fn connection(mut client: TcpStream, shared: &Shared, generation: u64) -> bool {
    let mut reset_signal = shared.generation.subscribe();
    let superseded = reset_signal.wait_for(|g| *g > generation);
    tokio::pin!(superseded);
    // Onwards only once the proxy is not hung: a hung server takes no new session either.
    let mut mode = shared.mode.subscribe();
    let upstream = tokio::select! {
        biased;
        _ = &mut superseded => None,
        upstream = async {
            flowing(&mut mode).await;
            TcpStream::connect(shared.target).await.ok()
        } => upstream,
    };
    // Without a server to reach, the client sees a reset, as it would from a dead server.
    let Some(mut upstream) = upstream else {
        reset(client);
        return true;
    };
    let end = tokio::select! {
        biased;
        _ = &mut superseded => End::Reset,
        end = relay(&mut client, &mut upstream, shared) => end,
    };
    match end {
        End::Closed => false,
        End::Reset => {
            reset(client);
            reset(upstream);
            true
        }
    }
}

/// Pumps both ways until both directions end, or a trap goes off.
async fn relay(client: &mut TcpStream, upstream: &mut TcpStream, shared: &Shared) -> End {
    let _ = upstream.set_nodelay(true);
    let _ = client.set_nodelay(true);
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let outbound = pump(
        &mut client_read,
        &mut upstream_write,
        shared.mode.subscribe(),
        Some(&shared.trap),
    );
    let inbound = pump(
        &mut upstream_read,
        &mut client_write,
        shared.mode.subscribe(),
        None,
    );
    match tokio::try_join!(outbound, inbound) {
        Ok(_) => End::Closed,
        Err(Tripped) => End::Reset,
    }
}

/// A trap went off (the only pump error that resets; the others just end the pump).
struct Tripped;

/// Waits while the proxy hangs; returns the delay to add to the next chunk.
async fn flowing(mode: &mut watch::Receiver<Mode>) -> Duration {
    let now = *mode
        .wait_for(|m| *m != Mode::Hang)
        .await
        .expect("the proxy is alive");
    match now {
        Mode::Delay(d) => d,
        _ => Duration::ZERO,
    }
}

/// Copies one direction chunk by chunk until its reader ends, then ends the writer. With a
/// trap, a chunk after one holding the marker may trip it.
async fn pump(
    from: &mut tokio::net::tcp::ReadHalf<'_>,
    to: &mut tokio::net::tcp::WriteHalf<'_>,
    mut mode: watch::Receiver<Mode>,
    trap: Option<&Trap>,
) -> Result<(), Tripped> {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut marked = false;
    loop {
        flowing(&mut mode).await;
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return Ok(());
            }
            Ok(n) => n,
        };
        let delay = flowing(&mut mode).await;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let chunk = &buffer[..n];
        if let Some(trap) = trap {
            if marked && trap.take() {
                let _ = to.write_all(&chunk[..n / 2]).await;
                return Err(Tripped);
            }
            marked = marked || trap.matches(chunk);
        }
        if to.write_all(chunk).await.is_err() {
            return Ok(());
        }
    }
}

impl Trap {
    fn matches(&self, chunk: &[u8]) -> bool {
        if self.armed.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let marker = self.marker.lock().expect("trap");
        !marker.is_empty() && chunk.windows(marker.len()).any(|w| w == marker.as_slice())
    }

    /// Takes one of the armed resets, if any is left.
    fn take(&self) -> bool {
        self.armed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server: every byte read is written back.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
        stream.write_all(bytes).await.unwrap();
        let mut back = vec![0; bytes.len()];
        stream.read_exact(&mut back).await.unwrap();
        back
    }

    #[test]
    fn a_urls_host_and_port_are_replaced_and_nothing_else() {
        assert_eq!(
            authority("postgres://u:p@127.0.0.1:5432/db?x=1"),
            "127.0.0.1:5432"
        );
        assert_eq!(authority("redis://127.0.0.1:6379/"), "127.0.0.1:6379");
        assert_eq!(authority("redis://127.0.0.1:6379"), "127.0.0.1:6379");
    }

    #[tokio::test]
    async fn a_hung_proxy_holds_bytes_and_delivers_them_in_order_on_resume() {
        let proxy = Proxy::start(echo_server().await).await;
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"before").await, b"before");

        proxy.set_mode(Mode::Hang);
        stream.write_all(b"during").await.unwrap();
        let mut one = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut one)).await;
        assert!(read.is_err(), "nothing may come back while hung");
        assert_eq!(proxy.connections(), 1, "the connection stays open");

        proxy.set_mode(Mode::Forward);
        let mut back = [0u8; 6];
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"during");
    }

    #[tokio::test]
    async fn a_reset_is_seen_as_a_reset_by_the_client() {
        let proxy = Proxy::start(echo_server().await).await;
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"hello").await, b"hello");
        proxy.reset_all().await;
        assert_eq!(proxy.resets(), 1);
        let mut buf = [0u8; 8];
        let read = stream.read(&mut buf).await;
        assert_eq!(
            read.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::ConnectionReset)
        );
    }

    #[tokio::test]
    async fn the_trap_resets_the_chunk_after_the_marker_and_only_as_often_as_armed() {
        let proxy = Proxy::start(echo_server().await).await;
        proxy.reset_after(b"COPY", 1);
        let mut first = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut first, b"a COPY").await, b"a COPY");
        first.write_all(b"data").await.unwrap();
        let mut buf = [0u8; 64];
        // The first half may arrive before the reset does.
        let mut got = Vec::new();
        let ended = loop {
            match first.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e.kind()),
            }
        };
        assert_eq!(ended, Err(std::io::ErrorKind::ConnectionReset));
        assert!(b"da".starts_with(&got));
        proxy.wait_for_resets(1).await;

        let mut second = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut second, b"a COPY").await, b"a COPY");
        assert_eq!(round_trip(&mut second, b"data").await, b"data");
        assert_eq!(proxy.resets(), 1);
    }

    #[tokio::test]
    async fn a_delayed_proxy_still_delivers_everything() {
        let proxy = Proxy::start(echo_server().await).await;
        proxy.set_mode(Mode::Delay(Duration::from_millis(5)));
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let (mut r, mut w) = stream.split();
        let (written, back) = tokio::join!(w.write_all(&payload), async {
            let mut back = vec![0; payload.len()];
            r.read_exact(&mut back).await.map(|_| back)
        });
        written.unwrap();
        assert_eq!(back.unwrap(), payload);
    }

    #[tokio::test]
    async fn a_refusing_proxy_resets_new_connections_only() {
        let proxy = Proxy::start(echo_server().await).await;
        let mut old = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut old, b"x").await, b"x");
        proxy.set_mode(Mode::Refuse);
        let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
        let mut buf = [0u8; 1];
        let read = new.read(&mut buf).await;
        assert!(matches!(read, Ok(0) | Err(_)), "refused: {read:?}");
        assert_eq!(round_trip(&mut old, b"y").await, b"y");
    }
}
