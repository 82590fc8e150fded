//! A minimal RESP2 connection: one command out, one reply back, on a socket its caller owns,
//! plain or TLS (rustls), authenticated as the URL's ACL user.
//!
//! Used by the dead-letter enqueue, the call every request pays while PostgreSQL is down.
//! redis-rs's async connection is multiplexed: each call is handed to a driver task and its
//! reply handed back, which costs the enqueue more CPU per event than this socket
//! (docs/architecture.md has the A/B). Everything else (claims, acks, stats, the cache)
//! keeps redis-rs.

use std::io::{self, Write as _};
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A reply, as RESP2 sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Status(String),
    /// An error reply (`-ERR ...`, `-NOSCRIPT ...`): the server answered, the command failed.
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The integers of an array reply; `None` for anything else.
    pub(crate) fn integers(&self) -> Option<Vec<i64>> {
        match self {
            Reply::Array(Some(items)) => items
                .iter()
                .map(|item| match item {
                    Reply::Integer(i) => Some(*i),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

/// One connection, used by one caller at a time.
pub(crate) struct RespConnection {
    stream: Stream,
    /// Bytes read and not yet parsed.
    read: Vec<u8>,
}

/// Appends `args` as one RESP command (an array of bulk strings) to `out`.
pub(crate) fn pack(out: &mut Vec<u8>, args: &[&[u8]]) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "*{}\r\n", args.len());
    for arg in args {
        let _ = write!(out, "${}\r\n", arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn protocol_error(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("bad reply from Redis: {what}"),
    )
}

/// Parses one reply from the front of `buf`: the reply and the bytes it took, or `None` while
/// it is incomplete.
pub(crate) fn parse(buf: &[u8]) -> io::Result<Option<(Reply, usize)>> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    // The type byte, then the line; a line without one (`\r\n` first) is not a reply.
    let line = buf
        .get(1..end)
        .ok_or_else(|| protocol_error("no reply type"))?;
    let line = std::str::from_utf8(line).map_err(|_| protocol_error("not UTF-8"))?;
    let after = end + 2;
    let length = || -> io::Result<i64> { line.parse().map_err(|_| protocol_error(line)) };
    match buf.first() {
        Some(b'+') => Ok(Some((Reply::Status(line.to_owned()), after))),
        Some(b'-') => Ok(Some((Reply::Error(line.to_owned()), after))),
        Some(b':') => Ok(Some((Reply::Integer(length()?), after))),
        Some(b'$') => {
            let Ok(size) = usize::try_from(length()?) else {
                return Ok(Some((Reply::Bulk(None), after)));
            };
            if buf.len() < after + size + 2 {
                return Ok(None);
            }
            if &buf[after + size..after + size + 2] != b"\r\n" {
                return Err(protocol_error("bulk string without its end"));
            }
            let bytes = buf[after..after + size].to_vec();
            Ok(Some((Reply::Bulk(Some(bytes)), after + size + 2)))
        }
        Some(b'*') => {
            let Ok(count) = usize::try_from(length()?) else {
                return Ok(Some((Reply::Array(None), after)));
            };
            let mut items = Vec::with_capacity(count.min(1024));
            let mut at = after;
            for _ in 0..count {
                let Some((item, used)) = parse(&buf[at..])? else {
                    return Ok(None);
                };
                items.push(item);
                at += used;
            }
            Ok(Some((Reply::Array(Some(items)), at)))
        }
        _ => Err(protocol_error("unknown reply type")),
    }
}

impl RespConnection {
    /// Connects to `server` (over TLS with `tls` for a `rediss://` address), then
    /// authenticates and selects its database if it names them.
    pub(crate) async fn connect(
        server: &ConnectionInfo,
        tls: Option<&TlsConnector>,
    ) -> io::Result<Self> {
        let tcp = |host: String, port: u16| async move {
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            // A command is written whole; waiting to coalesce it would only add latency.
            stream.set_nodelay(true)?;
            io::Result::Ok(stream)
        };
        let stream = match server.addr() {
            ConnectionAddr::Tcp(host, port) => Stream::Tcp(tcp(host.clone(), *port).await?),
            ConnectionAddr::TcpTls { host, port, .. } => {
                let Some(connector) = tls else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a rediss:// address needs a TLS connector",
                    ));
                };
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let stream = tcp(host.clone(), *port).await?;
                Stream::Tls(Box::new(connector.connect(name, stream).await?))
            }
            #[cfg(unix)]
            ConnectionAddr::Unix(path) => {
                Stream::Unix(tokio::net::UnixStream::connect(path).await?)
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("unsupported Redis address {other}"),
                ));
            }
        };
        let mut conn = Self {
            stream,
            read: Vec::with_capacity(4096),
        };
        let settings = server.redis_settings();
        if let Some(password) = settings.password() {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            auth.extend(settings.username().map(str::as_bytes));
            auth.push(password.as_bytes());
            conn.expect_ok(auth).await?;
        }
        if settings.db() != 0 {
            let db = settings.db().to_string();
            conn.expect_ok(vec![b"SELECT", db.as_bytes()]).await?;
        }
        Ok(conn)
    }

    async fn expect_ok(&mut self, args: Vec<&[u8]>) -> io::Result<()> {
        let mut command = Vec::new();
        pack(&mut command, &args);
        match self.call(&command).await? {
            Reply::Status(_) => Ok(()),
            other => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("Redis refused the connection's setup: {other:?}"),
            )),
        }
    }

    /// Sends one packed command and reads its reply.
    pub(crate) async fn call(&mut self, command: &[u8]) -> io::Result<Reply> {
        self.send(command).await?;
        self.reply().await
    }

    /// Sends packed commands in one write and reads their `count` replies.
    pub(crate) async fn call_many(
        &mut self,
        commands: &[u8],
        count: usize,
    ) -> io::Result<Vec<Reply>> {
        self.send(commands).await?;
        let mut replies = Vec::with_capacity(count);
        for _ in 0..count {
            replies.push(self.reply().await?);
        }
        Ok(replies)
    }

    async fn send(&mut self, command: &[u8]) -> io::Result<()> {
        match &mut self.stream {
            Stream::Tcp(s) => s.write_all(command).await?,
            Stream::Tls(s) => {
                s.write_all(command).await?;
                // rustls buffers what it encrypts: the command leaves only when flushed.
                s.flush().await?;
            }
            #[cfg(unix)]
            Stream::Unix(s) => s.write_all(command).await?,
        }
        Ok(())
    }

    /// Reads the next reply.
    async fn reply(&mut self) -> io::Result<Reply> {
        loop {
            if let Some((reply, used)) = parse(&self.read)? {
                self.read.drain(..used);
                return Ok(reply);
            }
            self.read.reserve(4096);
            let n = match &mut self.stream {
                Stream::Tcp(s) => s.read_buf(&mut self.read).await?,
                Stream::Tls(s) => s.read_buf(&mut self.read).await?,
                #[cfg(unix)]
                Stream::Unix(s) => s.read_buf(&mut self.read).await?,
            };
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// How long a connect may take, and a reply (redis-rs's defaults, kept as they were).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(bytes: &[u8]) -> Reply {
        let (reply, used) = parse(bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        reply
    }

    #[test]
    fn parses_each_reply_type() {
        assert_eq!(whole(b"+OK\r\n"), Reply::Status("OK".into()));
        assert_eq!(
            whole(b"-NOSCRIPT No matching script\r\n"),
            Reply::Error("NOSCRIPT No matching script".into())
        );
        assert_eq!(whole(b":-42\r\n"), Reply::Integer(-42));
        assert_eq!(
            whole(b"$5\r\na\r\nbc\r\n"),
            Reply::Bulk(Some(b"a\r\nbc".to_vec()))
        );
        assert_eq!(whole(b"$-1\r\n"), Reply::Bulk(None));
        assert_eq!(whole(b"*-1\r\n"), Reply::Array(None));
        assert_eq!(
            whole(b"*3\r\n:1\r\n:0\r\n:7\r\n").integers(),
            Some(vec![1, 0, 7])
        );
        assert_eq!(
            whole(b"*2\r\n*1\r\n+a\r\n$0\r\n\r\n"),
            Reply::Array(Some(vec![
                Reply::Array(Some(vec![Reply::Status("a".into())])),
                Reply::Bulk(Some(Vec::new())),
            ]))
        );
    }

    #[test]
    fn a_reply_cut_anywhere_is_incomplete_until_its_last_byte_and_leaves_what_follows() {
        let reply = b"*3\r\n:1\r\n$3\r\nabc\r\n:12\r\n";
        for cut in 0..reply.len() {
            assert_eq!(parse(&reply[..cut]).unwrap(), None, "cut at {cut}");
        }
        let mut two = reply.to_vec();
        two.extend_from_slice(b"+OK\r\n");
        let (_, used) = parse(&two).unwrap().unwrap();
        assert_eq!(used, reply.len());
        assert_eq!(whole(&two[used..]), Reply::Status("OK".into()));
    }

    #[test]
    fn malformed_replies_are_errors_not_guesses() {
        assert!(parse(b"?what\r\n").is_err());
        assert!(parse(b"\r\n:1\r\n").is_err());
        assert!(parse(b":notanumber\r\n").is_err());
        assert!(parse(b"$3\r\nabcd\r\n").is_err());
        assert_eq!(whole(b":5\r\n").integers(), None);
        assert_eq!(whole(b"*2\r\n:1\r\n+x\r\n").integers(), None);
    }

    #[test]
    fn packs_a_command_as_an_array_of_bulk_strings() {
        let mut out = Vec::new();
        pack(&mut out, &[b"XADD", b"s", b""]);
        assert_eq!(out, b"*3\r\n$4\r\nXADD\r\n$1\r\ns\r\n$0\r\n\r\n");
        assert_eq!(
            whole(&out),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"XADD".to_vec())),
                Reply::Bulk(Some(b"s".to_vec())),
                Reply::Bulk(Some(Vec::new())),
            ]))
        );
    }
}
