//! A master, its replica and a Sentinel watching them, on free loopback
//! ports, killed on drop. One Sentinel decides alone: two with a quorum of
//! one can split their votes and delay the failover by minutes.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use socketio::adapter::redis::client as redis;
use tokio::time::{timeout, Instant};

use super::redis_binary;
use super::tls::{free_port, TempDir};

/// The service name the Sentinels know the master by.
pub const SERVICE: &str = "mymaster";
/// How long a failover may take on a busy machine.
const FAILOVER: Duration = Duration::from_secs(60);

/// A replicated set under Sentinel, every process killed on drop.
pub struct SentinelSet {
    pub master: u16,
    pub replica: u16,
    pub sentinel: u16,
    /// A port nobody listens on, listed first in the URL: the adapter
    /// must go on to the next Sentinel.
    pub dead_sentinel: u16,
    children: Vec<(u16, Child)>,
    _dir: TempDir,
}

impl Drop for SentinelSet {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(bin: &str, args: &[String]) -> Child {
    Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start redis-server")
}

async fn wait_port(port: u16) {
    let deadline = Instant::now() + FAILOVER;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "redis-server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn info(port: u16, section: &str) -> Option<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut conn = timeout(
        Duration::from_secs(3),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()?;
    timeout(
        Duration::from_secs(3),
        redis::cmd("INFO").arg(section).query_async(&mut conn),
    )
    .await
    .ok()?
    .ok()
}

impl SentinelSet {
    /// Starts the set; `None` (test skipped) without the binary.
    pub async fn start() -> Option<SentinelSet> {
        super::logs();
        let bin = redis_binary()?;
        let dir = TempDir::new("sentinel");
        let (master, replica) = (free_port(), free_port());
        // The replica writes the master's snapshot to its directory.
        let work = dir.0.to_str().expect("UTF-8 path").to_owned();
        let common = |port: u16| -> Vec<String> {
            [
                "--dir",
                &work,
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--repl-diskless-sync-delay",
                "0",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        };
        let mut set = SentinelSet {
            master,
            replica,
            sentinel: 0,
            dead_sentinel: free_port(),
            children: Vec::new(),
            _dir: dir,
        };
        set.children.push((master, spawn(bin, &common(master))));
        let mut replica_args = common(replica);
        replica_args.extend(["--replicaof".into(), "127.0.0.1".into(), master.to_string()]);
        set.children.push((replica, spawn(bin, &replica_args)));
        wait_port(master).await;
        wait_port(replica).await;
        // The replica must be in sync to be promoted.
        let deadline = Instant::now() + FAILOVER;
        while !info(replica, "replication")
            .await
            .is_some_and(|i| i.contains("master_link_status:up"))
        {
            assert!(Instant::now() < deadline, "the replica did not sync");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        {
            let port = free_port();
            // A Sentinel rewrites its configuration file: one each.
            let conf = set._dir.file(
                "sentinel.conf",
                &format!(
                    "port {port}\nbind 127.0.0.1\n\
                     sentinel monitor {SERVICE} 127.0.0.1 {master} 1\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\n\
                     sentinel failover-timeout {SERVICE} 10000\n"
                ),
            );
            let args = vec![
                conf.to_str().expect("UTF-8 path").to_owned(),
                "--sentinel".to_owned(),
            ];
            set.children.push((port, spawn(bin, &args)));
            set.sentinel = port;
        }
        wait_port(set.sentinel).await;
        // The Sentinel knows the master and the replica.
        {
            let port = set.sentinel;
            let deadline = Instant::now() + FAILOVER;
            while !info(port, "sentinel")
                .await
                .is_some_and(|i| i.contains("status=ok") && i.contains("slaves=1"))
            {
                assert!(Instant::now() < deadline, "Sentinel {port} not ready");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Some(set)
    }

    /// The Sentinel URL of the set.
    pub fn url(&self) -> String {
        format!(
            "redis+sentinel://127.0.0.1:{},127.0.0.1:{}/0/{SERVICE}",
            self.dead_sentinel, self.sentinel
        )
    }

    /// Kills the master and waits until the Sentinels promoted the replica.
    pub async fn fail_over(&mut self) {
        if let Some((_, child)) = self.children.iter_mut().find(|(p, _)| *p == self.master) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + FAILOVER;
        loop {
            let role = info(self.replica, "replication").await;
            if role.as_deref().is_some_and(|i| i.contains("role:master")) {
                return;
            }
            assert!(Instant::now() < deadline, "no failover: {role:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
