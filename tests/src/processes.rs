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

/// A PostgreSQL 16 cluster of its own (initdb'd per test).
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    dir: PathBuf,
    run_as: Vec<String>,
    pub port: u16,
}

impl PgCluster {
    pub fn start_new() -> Self {
        let bin = PathBuf::from(env("DS_PG_BIN"));
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
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nmax_connections = 100\n",
            cluster.port,
            cluster.dir.display()
        );
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
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
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
}

impl RedisServer {
    pub fn start_new() -> Self {
        let mut server = Self {
            dir: scratch_dir("redis"),
            port: free_port(),
            child: None,
        };
        server.start();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        // Ready when it answers PING (poll with a deadline).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let pong = Command::new("redis-cli")
                .args(["-p", &self.port.to_string(), "ping"])
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

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
