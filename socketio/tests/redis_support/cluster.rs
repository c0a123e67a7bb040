//! A private Redis Cluster: masters (and replicas) on free loopback ports,
//! joined by `redis-cli --cluster create`, killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use socketio::adapter::redis::client as redis;
use tokio::time::{timeout, Instant};

use super::redis_binary;
use super::tls::{free_port, TempDir};

const CLI_BIN: &str = "/usr/bin/redis-cli";
/// How long forming the cluster or a failover may take on a busy machine.
const FORM: Duration = Duration::from_secs(60);
/// How many times the cluster is formed on fresh ports before giving up.
const FORM_ATTEMPTS: usize = 3;

/// One node of the cluster.
pub struct Node {
    child: Option<Child>,
    pub port: u16,
}

impl Node {
    /// Waits until this node answers on its port, and checks that the
    /// server answering is this node's process: when the port was taken
    /// before it could bind it, another server answers there and this
    /// one exited.
    async fn wait_own(&mut self) -> Result<(), String> {
        let pid = self.child.as_ref().map(Child::id);
        let deadline = Instant::now() + FORM;
        loop {
            let info = query::<String>(self.port, redis::cmd("INFO").arg("server")).await;
            if let Some(info) = info {
                let answering = info
                    .lines()
                    .find_map(|l| l.strip_prefix("process_id:"))
                    .and_then(|p| p.trim().parse::<u32>().ok());
                return if answering == pid {
                    Ok(())
                } else {
                    Err(format!(
                        "port {} is another server's ({answering:?}, not {pid:?})",
                        self.port
                    ))
                };
            }
            // It could not bind its port or its bus port.
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("redis-server on {} exited: {status}", self.port));
            }
            if Instant::now() >= deadline {
                return Err(format!("redis-server on {} did not start", self.port));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the node (a crashed master), leaving its replica to take
    /// over.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A Redis Cluster, every node killed on drop.
pub struct RedisCluster {
    pub nodes: Vec<Node>,
    _dir: TempDir,
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }
}

impl RedisCluster {
    /// Starts `masters` masters with `replicas` replicas each; `None` (test
    /// skipped) without the binaries.
    pub async fn start(masters: usize, replicas: usize) -> Option<RedisCluster> {
        super::logs();
        let bin = redis_binary()?;
        if !std::path::Path::new(CLI_BIN).exists() {
            eprintln!("SKIPPED: {CLI_BIN} not found; install redis-tools to run the cluster tests");
            return None;
        }
        // A free port is picked, then bound by redis-server: another
        // process (a test running beside this one) may take it in between.
        // Then the cluster is formed again on fresh ports.
        let mut failure = String::new();
        for _ in 0..FORM_ATTEMPTS {
            match RedisCluster::form(bin, masters, replicas).await {
                Ok(cluster) => return Some(cluster),
                Err(e) => {
                    eprintln!("forming the Redis Cluster again: {e}");
                    failure = e;
                }
            }
        }
        panic!("no Redis Cluster in {FORM_ATTEMPTS} attempts: {failure}");
    }

    async fn form(bin: &str, masters: usize, replicas: usize) -> Result<RedisCluster, String> {
        let dir = TempDir::new("cluster");
        let path = dir.0.clone();
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            _dir: dir,
        };
        for _ in 0..masters * (1 + replicas) {
            // The bus port is chosen too: port + 10000 may not exist.
            let (port, bus) = (free_port(), free_port());
            let child = Command::new(bin)
                .args([
                    "--port",
                    &port.to_string(),
                    "--cluster-port",
                    &bus.to_string(),
                ])
                .args(["--bind", "127.0.0.1", "--cluster-enabled", "yes"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--cluster-node-timeout", "2000"])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--repl-diskless-sync-delay", "0"])
                .arg("--dir")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start redis-server");
            cluster.nodes.push(Node {
                child: Some(child),
                port,
            });
        }
        for node in &mut cluster.nodes {
            node.wait_own().await?;
        }
        let mut create = tokio::process::Command::new(CLI_BIN);
        create.args(["--cluster", "create"]);
        for node in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let out = timeout(FORM, create.output())
            .await
            .map_err(|_| "redis-cli --cluster create timed out".to_owned())?
            .map_err(|e| format!("run redis-cli: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.port).collect();
        for &port in &ports {
            cluster.wait_ok(port).await;
        }
        // A replica that never synchronised does not take over: wait for
        // every replication link.
        if replicas > 0 {
            for &port in &ports {
                cluster.wait_replicated(port).await;
            }
        }
        Ok(cluster)
    }

    /// Waits until the node on `port` says `cluster_state:ok` and knows
    /// every node.
    pub async fn wait_ok(&self, port: u16) {
        let deadline = Instant::now() + FORM;
        loop {
            let info = query::<String>(port, redis::cmd("CLUSTER").arg("INFO")).await;
            let ok = info.as_deref().is_some_and(|i| {
                i.contains("cluster_state:ok")
                    && i.contains(&format!("cluster_known_nodes:{}", self.nodes.len()))
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "cluster not ok on {port}: {info:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the node on `port`, if a replica, has its replication
    /// link up.
    async fn wait_replicated(&self, port: u16) {
        let deadline = Instant::now() + FORM;
        loop {
            let info = query::<String>(port, redis::cmd("INFO").arg("replication")).await;
            let done = info
                .as_deref()
                .is_some_and(|i| i.contains("role:master") || i.contains("master_link_status:up"));
            if done {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "replica {port} not in sync: {info:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The seed URLs, comma-separated (every node).
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The port of the master serving `key`'s slot, as a live node says.
    pub async fn master_of(&self, key: &str) -> u16 {
        let port = self.live_port();
        let slot: i64 = query(port, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
            .await
            .expect("CLUSTER KEYSLOT");
        let slots: Vec<(i64, i64, (String, i64))> = query_slots(port).await;
        slots
            .into_iter()
            .find(|(from, to, _)| (*from..=*to).contains(&slot))
            .and_then(|(_, _, (_, p))| u16::try_from(p).ok())
            .expect("a master for the slot")
    }

    /// Waits until a server subscribed shard channel `channel` (on its
    /// slot's master).
    pub async fn wait_shard_subscriber(&self, channel: &str, what: &str) {
        self.wait_shard_subscribers(channel, 1, what).await;
    }

    /// Waits until `n` servers subscribed shard channel `channel` (on its
    /// slot's master): a room's channel follows the join, after its ack.
    pub async fn wait_shard_subscribers(&self, channel: &str, n: i64, what: &str) {
        let deadline = Instant::now() + FORM;
        loop {
            let port = self.master_of(channel).await;
            let reply: Option<(String, i64)> =
                query(port, redis::cmd("PUBSUB").arg("SHARDNUMSUB").arg(channel)).await;
            if reply.as_ref().is_some_and(|(_, got)| *got >= n) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {channel} on {port} has not {n} subscribers: {reply:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Moves `key`'s slot (which holds no keys) to another master, as a
    /// resharding does; returns the new owner's port.
    pub async fn move_slot(&self, key: &str) -> u16 {
        let from = self.master_of(key).await;
        let slot: i64 = query(from, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
            .await
            .expect("CLUSTER KEYSLOT");
        let masters: Vec<u16> = query_slots(from)
            .await
            .into_iter()
            .filter_map(|(_, _, (_, p))| u16::try_from(p).ok())
            .collect();
        let to = *masters
            .iter()
            .find(|&&p| p != from)
            .expect("another master");
        let id = |port: u16| async move {
            query::<String>(port, redis::cmd("CLUSTER").arg("MYID"))
                .await
                .expect("CLUSTER MYID")
        };
        let (from_id, to_id) = (id(from).await, id(to).await);
        let setslot = |port: u16, args: Vec<String>| async move {
            let mut cmd = redis::cmd("CLUSTER");
            cmd.arg("SETSLOT").arg(slot).arg(args);
            let ok: Option<String> = query(port, &mut cmd).await;
            assert_eq!(ok.as_deref(), Some("OK"), "SETSLOT on {port}");
        };
        setslot(to, vec!["IMPORTING".into(), from_id.clone()]).await;
        setslot(from, vec!["MIGRATING".into(), to_id.clone()]).await;
        setslot(to, vec!["NODE".into(), to_id.clone()]).await;
        setslot(from, vec!["NODE".into(), to_id.clone()]).await;
        let mut others: Vec<u16> = masters.clone();
        others.sort_unstable();
        others.dedup();
        for port in others.into_iter().filter(|p| *p != from && *p != to) {
            setslot(port, vec!["NODE".into(), to_id.clone()]).await;
        }
        to
    }

    /// A node still running.
    pub fn live_port(&self) -> u16 {
        self.nodes
            .iter()
            .find(|n| n.child.is_some())
            .expect("a live node")
            .port
    }

    /// Kills the node on `port`.
    pub fn kill(&mut self, port: u16) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.port == port) {
            node.kill();
        }
    }

    /// Waits until every live node says the cluster is ok again with a
    /// master for `key` other than `dead`; returns it.
    pub async fn wait_failover(&self, key: &str, dead: u16) -> u16 {
        let deadline = Instant::now() + FORM;
        loop {
            let port = self.live_port();
            let info = query::<String>(port, redis::cmd("CLUSTER").arg("INFO")).await;
            if info
                .as_ref()
                .is_some_and(|i| i.contains("cluster_state:ok"))
            {
                let master = self.master_of(key).await;
                if master != dead {
                    return master;
                }
            }
            let nodes = query::<String>(port, redis::cmd("CLUSTER").arg("NODES")).await;
            assert!(
                Instant::now() < deadline,
                "no failover of {dead} (asked {port}): {info:?} {nodes:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn connection(port: u16) -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    timeout(
        Duration::from_secs(3),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()
}

async fn query<T: redis::FromRedisValue>(port: u16, cmd: &mut redis::Cmd) -> Option<T> {
    let mut conn = connection(port).await?;
    timeout(Duration::from_secs(3), cmd.query_async(&mut conn))
        .await
        .ok()?
        .ok()
}

/// `CLUSTER SLOTS` as (from, to, (host, port)) of each range's master.
async fn query_slots(port: u16) -> Vec<(i64, i64, (String, i64))> {
    let raw: Vec<redis::Value> = query(port, &mut redis::cmd("CLUSTER").arg("SLOTS").to_owned())
        .await
        .unwrap_or_default();
    raw.into_iter()
        .filter_map(|range| {
            let redis::Value::Array(parts) = range else {
                return None;
            };
            let from = redis::from_redis_value::<i64>(parts.first()?.clone()).ok()?;
            let to = redis::from_redis_value::<i64>(parts.get(1)?.clone()).ok()?;
            let redis::Value::Array(master) = parts.get(2)? else {
                return None;
            };
            let host = redis::from_redis_value::<String>(master.first()?.clone()).ok()?;
            let port = redis::from_redis_value::<i64>(master.get(1)?.clone()).ok()?;
            Some((from, to, (host, port)))
        })
        .collect()
}
