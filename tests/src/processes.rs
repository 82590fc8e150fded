//! Private PostgreSQL and Redis servers that a fault test may stop and start at will,
//! without disturbing the shared ones other tests use.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with scripts/test.sh, which starts the services")
    })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn run(mut command: Command) {
    let shown = format!("{command:?}");
    let out = command.output().unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scratch_dir(kind: &str) -> PathBuf {
    let base = std::env::var("DS_SERVICES_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let dir = PathBuf::from(base).join(format!("{kind}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A PostgreSQL 16 cluster of its own (initdb'd per test), or the external one that
/// `DS_TEST_PG_EXTERNAL_DATA` names (see [`PgCluster::start_new`]).
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    dir: PathBuf,
    run_as: Vec<String>,
    pub port: u16,
    /// The database the tests use, when it is not the cluster's `postgres`.
    database_url: Option<String>,
}

impl PgCluster {
    /// A new cluster; or, with `DS_TEST_PG_EXTERNAL_DATA` (a running server's data directory,
    /// its Unix socket in the directory above) and `DS_TEST_PG_EXTERNAL_URL` (a fresh database
    /// on it) set, that server, which the fault tests then stop and start with `pg_ctl` from
    /// `DS_PG_BIN`: how the fault test runs against a Citus coordinator by hand
    /// (docs/citus.md).
    pub fn start_new() -> Self {
        if let Ok(data) = std::env::var("DS_TEST_PG_EXTERNAL_DATA") {
            return Self::external(PathBuf::from(data), env("DS_TEST_PG_EXTERNAL_URL"));
        }
        Self::start_new_with(PathBuf::from(env("DS_PG_BIN")), |_| String::new())
    }

    fn external(data: PathBuf, url: String) -> Self {
        let port = url
            .rsplit_once('@')
            .and_then(|(_, host)| host.split_once(':'))
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .expect("DS_TEST_PG_EXTERNAL_URL names host:port");
        Self {
            bin: PathBuf::from(env("DS_PG_BIN")),
            dir: data.parent().expect("a data directory's parent").to_owned(),
            data,
            run_as: std::env::var("DS_PG_RUN_AS")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            port,
            database_url: Some(url),
        }
    }

    /// A cluster that takes TLS only: `ssl = on` with the PKI's server certificate, and
    /// `pg_hba.conf` rejecting every connection over TCP that is not TLS.
    ///
    /// It runs the PostgreSQL 16 of `DS_PG_TLS_BIN` (built with OpenSSL, which pgserver's is
    /// not; scripts/lib/services.sh installs it with pgvector).
    pub fn start_new_tls(pki: &crate::tls::TestPki) -> Self {
        Self::start_new_with(PathBuf::from(env("DS_PG_TLS_BIN")), |data| {
            std::fs::copy(&pki.server_cert_file, data.join("server.crt")).expect("server.crt");
            std::fs::copy(&pki.server_key_file, data.join("server.key")).expect("server.key");
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostnossl all all all reject\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .expect("pg_hba.conf");
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n".to_owned()
        })
    }

    /// `configure` is given the data directory after initdb and answers lines to add to
    /// postgresql.conf.
    fn start_new_with(bin: PathBuf, configure: impl FnOnce(&std::path::Path) -> String) -> Self {
        let dir = scratch_dir("pg");
        let data = dir.join("data");
        let run_as: Vec<String> = std::env::var("DS_PG_RUN_AS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let owner = std::env::var("DS_PG_USER_NAME").unwrap_or_default();
        if !owner.is_empty() {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg(&owner).arg(&dir);
            run(chown);
        }
        let cluster = Self {
            bin,
            data,
            dir,
            run_as,
            port: free_port(),
            database_url: None,
        };
        let mut initdb = cluster.command("initdb");
        initdb.arg("-D").arg(&cluster.data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        run(initdb);
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nmax_connections = 100\n",
            cluster.port,
            cluster.dir.display()
        );
        conf.push_str(&configure(&cluster.data));
        // The server reads its key only if it alone can (0600, its own).
        let key = cluster.data.join("server.key");
        if key.exists() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                .expect("chmod server.key");
        }
        if !owner.is_empty() {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg(&owner).arg(&cluster.data);
            run(chown);
        }
        let conf_path = cluster.data.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf_path).expect("postgresql.conf");
        existing.push_str(&conf);
        std::fs::write(&conf_path, existing).expect("write postgresql.conf");
        cluster.start();
        cluster
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        match self.run_as.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("postgres://postgres@127.0.0.1:{}/postgres", self.port))
    }

    /// A SQL statement run with psql over the Unix socket (as the cluster's superuser).
    pub fn psql(&self, sql: &str) -> String {
        // pgserver's psql: the TLS build has none.
        let psql = PathBuf::from(env("DS_PG_BIN")).join("psql");
        let mut c = match self.run_as.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(psql);
                c
            }
            None => Command::new(psql),
        };
        c.arg("-h").arg(&self.dir).args([
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-XAtq",
            "-c",
            sql,
            "postgres",
        ]);
        let out = c.output().expect("psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn start(&self) {
        let mut c = self.command("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "60", "start"]);
        c.stdout(Stdio::null());
        run(c);
    }

    /// Stops the server the way an operator or a crash-restart would: open connections are
    /// terminated, in-flight transactions abort.
    pub fn stop(&self) {
        let mut c = self.command("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        c.stdout(Stdio::null());
        run(c);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // An external server is the operator's: left running, its files untouched.
        if self.database_url.is_some() {
            return;
        }
        let mut c = self.command("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis server of its own, AOF on with fsync always, restartable on the same data.
pub struct RedisServer {
    dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
    tls: Option<RedisTlsServer>,
}

/// How a TLS-only Redis is reached: its files, and the one ACL user that may log in.
struct RedisTlsServer {
    ca_file: PathBuf,
    cert_file: PathBuf,
    key_file: PathBuf,
    client_cert_file: PathBuf,
    client_key_file: PathBuf,
}

impl RedisTlsServer {
    fn of(pki: &crate::tls::TestPki) -> Self {
        Self {
            ca_file: pki.ca_file.clone(),
            cert_file: pki.server_cert_file.clone(),
            key_file: pki.server_key_file.clone(),
            client_cert_file: pki.client_cert_file.clone(),
            client_key_file: pki.client_key_file.clone(),
        }
    }
}

/// The ACL user and password of a TLS Redis (the `default` user is off).
pub const REDIS_TLS_USER: (&str, &str) = ("datastorage", "s3cret-acl-password");

impl RedisServer {
    pub fn start_new() -> Self {
        let mut server = Self {
            dir: scratch_dir("redis"),
            port: free_port(),
            child: None,
            tls: None,
        };
        server.start();
        server
    }

    /// A Redis that speaks only TLS (`port 0`, `tls-port`), asks every client for a
    /// certificate signed by the PKI's CA, and lets in only the ACL user
    /// [`REDIS_TLS_USER`].
    pub fn start_new_tls(pki: &crate::tls::TestPki) -> Self {
        let mut server = Self {
            dir: scratch_dir("redis"),
            port: free_port(),
            child: None,
            tls: Some(RedisTlsServer::of(pki)),
        };
        server.start();
        server
    }

    /// `redis://127.0.0.1:<port>/`, or for a TLS server
    /// `rediss://<user>:<password>@127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        match &self.tls {
            None => format!("redis://127.0.0.1:{}/", self.port),
            Some(_) => format!(
                "rediss://{}:{}@127.0.0.1:{}/",
                REDIS_TLS_USER.0, REDIS_TLS_USER.1, self.port
            ),
        }
    }

    /// redis-cli's arguments to reach this server.
    fn cli_args(&self) -> Vec<String> {
        let mut args = vec!["-p".to_owned(), self.port.to_string()];
        if let Some(tls) = &self.tls {
            args.extend(["--tls".to_owned(), "--cacert".to_owned()]);
            args.push(tls.ca_file.display().to_string());
            args.push("--cert".to_owned());
            args.push(tls.client_cert_file.display().to_string());
            args.push("--key".to_owned());
            args.push(tls.client_key_file.display().to_string());
            args.extend([
                "--user".to_owned(),
                REDIS_TLS_USER.0.to_owned(),
                "--pass".to_owned(),
                REDIS_TLS_USER.1.to_owned(),
                "--no-auth-warning".to_owned(),
            ]);
        }
        args
    }

    pub fn start(&mut self) {
        let mut command = Command::new("redis-server");
        self.configure(&mut command);
        let child = command
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        self.wait_until_ready();
    }

    /// The server's arguments: its port (TLS or not), data directory, AOF with fsync always.
    fn configure(&self, command: &mut Command) {
        command.args(["--bind", "127.0.0.1"]);
        match &self.tls {
            None => {
                command.args(["--port", &self.port.to_string()]);
            }
            Some(tls) => {
                command
                    .args(["--port", "0", "--tls-port", &self.port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(&tls.cert_file)
                    .arg("--tls-key-file")
                    .arg(&tls.key_file)
                    .arg("--tls-ca-cert-file")
                    .arg(&tls.ca_file)
                    .args(["--tls-auth-clients", "yes"])
                    .args(["--user", "default", "off"])
                    .args([
                        "--user",
                        REDIS_TLS_USER.0,
                        "on",
                        &format!(">{}", REDIS_TLS_USER.1),
                        "~*",
                        "&*",
                        "+@all",
                    ]);
            }
        }
        command.arg("--dir").arg(&self.dir).args([
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ]);
    }

    /// Returns once the server answers PING (polled, with a deadline).
    fn wait_until_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let pong = Command::new("redis-cli")
                .args(self.cli_args())
                .arg("ping")
                .output()
                .map(|o| o.stdout.starts_with(b"PONG"))
                .unwrap_or(false);
            if pong {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One TLS Redis for the whole test process (the conformance suites over TLS make a queue
/// per case). It runs under `sh`, which kills it once this process's end closes its stdin,
/// so it never outlives the tests.
pub struct SharedTlsRedis {
    /// The PKI it presents and trusts (its files stay for the process's life).
    pub pki: crate::tls::TestPki,
    /// `rediss://<user>:<password>@127.0.0.1:<port>/`.
    pub url: String,
    _shell: std::sync::Mutex<Child>,
}

pub fn shared_tls_redis() -> &'static SharedTlsRedis {
    static SHARED: std::sync::OnceLock<SharedTlsRedis> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let pki = crate::tls::TestPki::new();
        let server = RedisServer {
            dir: scratch_dir("redis"),
            port: free_port(),
            child: None,
            tls: Some(RedisTlsServer::of(&pki)),
        };
        let mut redis = Command::new("redis-server");
        server.configure(&mut redis);
        let mut command = Command::new("sh");
        command
            .args(["-c", "\"$0\" \"$@\" & read _; kill $!"])
            .arg(redis.get_program())
            .args(redis.get_args());
        let shell = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server under sh");
        server.wait_until_ready();
        let url = server.url();
        // The shell owns the server now; the handle's Drop must not touch its directory.
        std::mem::forget(server);
        SharedTlsRedis {
            pki,
            url,
            _shell: std::sync::Mutex::new(shell),
        }
    })
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
