//! A private PostgreSQL for tests: `initdb` into a temporary directory, a
//! free loopback port, the socket in that directory; as root (CI) it runs
//! as the `postgres` user, which PostgreSQL requires. Without the binaries
//! (`/usr/lib/postgresql/*/bin`) the tests skip loudly, unless
//! `SOCKETIO_RS_REQUIRE_POSTGRES` is set, where they fail.
//!
//! Included by path from the suites of several crates: the including
//! module provides `pg_client`, the `tokio-postgres` crate as the adapter
//! re-exports it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::pg_client::{self as pg, NoTls};
use parking_lot::Mutex;
use tokio::time::{timeout, Instant};

/// How long PostgreSQL may take to start on a busy machine.
const START_WAIT: Duration = Duration::from_secs(60);
/// How long one connection attempt may take.
const WAIT: Duration = Duration::from_secs(5);

/// The directory of the newest installed PostgreSQL's binaries.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

/// The binaries, or `None` (test skipped) without them.
fn binaries() -> Option<PathBuf> {
    if let Some(dir) = bin_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("SOCKETIO_RS_REQUIRE_POSTGRES").is_none(),
        "SOCKETIO_RS_REQUIRE_POSTGRES is set but /usr/lib/postgresql/*/bin/postgres is missing \
         (apt-get install postgresql)"
    );
    eprintln!(
        "SKIPPED: /usr/lib/postgresql/*/bin/postgres not found; install postgresql to run the \
         Postgres adapter tests"
    );
    None
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|s| s.trim() == "0")
}

/// A command running `bin` as the `postgres` user when this is root
/// (`setpriv` execs it, so the child's pid is PostgreSQL's own).
fn command(bin: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            "postgres",
            "--regid",
            "postgres",
            "--clear-groups",
            "--",
        ])
        .arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

/// A private PostgreSQL server, stopped and removed on drop.
pub struct Postgres {
    child: Mutex<std::process::Child>,
    bin: PathBuf,
    root: bool,
    dir: PathBuf,
    pub port: u16,
    databases: AtomicU32,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        shut_down(self.child.get_mut());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Stops a postmaster: immediate shutdown, which takes its backends with
/// it; killed after 10 s.
fn shut_down(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The server the tests of this binary share while any of them runs.
static SHARED: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());
/// Serializes starting it.
static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Postgres {
    /// The server of this test binary, started if none runs; `None` (test
    /// skipped) without the binaries.
    pub async fn shared() -> Option<Arc<Postgres>> {
        let bin = binaries()?;
        let _one = STARTING.lock().await;
        if let Some(pg) = SHARED.lock().upgrade() {
            return Some(pg);
        }
        let pg = Arc::new(Postgres::private_with(bin).await);
        *SHARED.lock() = Arc::downgrade(&pg);
        Some(pg)
    }

    /// A server of the caller's own (to stop and restart); `None` (test
    /// skipped) without the binaries.
    pub async fn private() -> Option<Postgres> {
        Some(Postgres::private_with(binaries()?).await)
    }

    async fn private_with(bin: PathBuf) -> Postgres {
        let pg = tokio::task::spawn_blocking(move || Postgres::start(&bin))
            .await
            .expect("start postgres");
        pg.wait_up().await;
        pg
    }

    /// Stops the server and starts it again on the same port and data:
    /// every connection is cut.
    pub async fn restart(&self) {
        shut_down(&mut self.child.lock());
        let child = self.spawn(self.port);
        *self.child.lock() = child;
        self.wait_up().await;
    }

    fn spawn(&self, port: u16) -> std::process::Child {
        command(&self.bin.join("postgres"), self.root)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(&self.dir)
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres")
    }

    fn start(bin: &Path) -> Postgres {
        static N: AtomicU32 = AtomicU32::new(0);
        let root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "socketio-rs-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the PostgreSQL directory");
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown {} to postgres", dir.display());
        }
        let data = dir.join("data");
        let init = command(&bin.join("initdb"), root)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .arg("--no-instructions")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run initdb");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let mut pg = Postgres {
            child: Mutex::new(Command::new("true").spawn().expect("spawn true")),
            bin: bin.to_owned(),
            root,
            dir,
            port: 0,
            databases: AtomicU32::new(0),
        };
        // A free port is picked, then bound by postgres: another process
        // may take it in between; then postgres exits and another is tried.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let mut child = pg.spawn(port);
            // A taken port ends the process at once.
            std::thread::sleep(Duration::from_millis(300));
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("postgres exited ({status}) on port {port}; trying another");
                continue;
            }
            let _ = std::mem::replace(pg.child.get_mut(), child).wait();
            pg.port = port;
            return pg;
        }
        panic!("postgres found no free port in 3 attempts");
    }

    async fn wait_up(&self) {
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(Ok((client, conn))) = timeout(
                WAIT,
                self.url("postgres")
                    .parse::<pg::Config>()
                    .expect("url")
                    .connect(NoTls),
            )
            .await
            {
                tokio::spawn(conn);
                if client.simple_query("SELECT 1").await.is_ok() {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.lock().try_wait() {
                panic!("postgres exited while starting: {status}");
            }
            assert!(Instant::now() < deadline, "postgres did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/<db>`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A connection to `db` for the test itself.
    pub async fn client(&self, db: &str) -> pg::Client {
        let (client, conn) = timeout(
            WAIT,
            self.url(db)
                .parse::<pg::Config>()
                .expect("url")
                .connect(NoTls),
        )
        .await
        .expect("connect in time")
        .expect("connect");
        tokio::spawn(conn);
        client
    }

    /// A fresh database for one test; its URL.
    pub async fn database(&self) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::Relaxed));
        let admin = self.client("postgres").await;
        timeout(
            Duration::from_secs(30),
            admin.batch_execute(&format!("CREATE DATABASE {name}")),
        )
        .await
        .expect("CREATE DATABASE in time")
        .expect("CREATE DATABASE");
        self.url(&name)
    }
}

/// One test's database on the shared server; the server lives while this
/// does.
pub struct Db {
    pub pg: Arc<Postgres>,
    pub url: String,
}

impl Db {
    /// A fresh database; `None` (test skipped) without PostgreSQL.
    pub async fn new() -> Option<Db> {
        let pg = Postgres::shared().await?;
        let url = pg.database().await;
        Some(Db { pg, url })
    }

    /// A connection for the test itself.
    pub async fn client(&self) -> pg::Client {
        let db = self.url.rsplit('/').next().unwrap_or("postgres").to_owned();
        self.pg.client(&db).await
    }
}
