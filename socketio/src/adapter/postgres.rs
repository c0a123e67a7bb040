//! The Postgres adapter, wire-compatible with `@socket.io/postgres-adapter`
//! 0.5 (`createAdapter(pool)`): Rust and Node servers can share one cluster
//! over one PostgreSQL database, without a Redis.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::postgres::PostgresAdapterFactory;
//! let factory =
//!     PostgresAdapterFactory::new("postgres://app:secret@127.0.0.1:5432/app").await?;
//! let io = socketio::SocketIo::with_adapter(Default::default(), factory);
//! io.emit("hello", &"every client of every server")?;
//! # Ok(()) }
//! ```
//!
//! Each namespace's messages are `pg_notify`ed on `socket.io#<nsp>`, as JSON;
//! messages too large for a notification (`payload_threshold`, 8000 bytes)
//! and event messages holding binary go msgpack-encoded to the attachments
//! table (`socket_io_attachments`, created if missing with Node's DDL, and
//! emptied of rows older than `cleanup_interval` every `cleanup_interval`),
//! the notification carrying only their id. PostgreSQL cannot count a
//! channel's listeners, so servers announce themselves with heartbeats, as
//! `ClusterAdapterWithHeartbeat` does: a server that stops without saying
//! goodbye is forgotten after `heartbeat_timeout`.
//!
//! A factory holds two connections: one that LISTENs for every namespace,
//! reconnecting after 1 to 3 s when lost (what was notified meanwhile is
//! lost, as with Node), and one for NOTIFY, the attachments and the
//! cleanup, reopened when a query finds it closed. Failures are logged
//! through `tracing`, never raised as panics; a notification that cannot be
//! read is logged and dropped. Connections are plain TCP or Unix sockets
//! (`tokio-postgres` without TLS).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use rand::Rng;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::types::Type;
use tokio_postgres::{AsyncMessage, Client, Connection, NoTls, Notification, Socket};

use super::cluster::adapter::{ClusterAdapterFactory, ClusterConfig, QueueGauge};
use super::cluster::postgres::{Inbound, Outbound, PostgresCodec, DEFAULT_PAYLOAD_THRESHOLD};
use super::cluster::state::DEFAULT_REQUEST_TIMEOUT;
use super::cluster::transport::{Protocol, Subscriber, Transport};
use super::cluster::{
    ClusterMessage, ClusterResponse, Envelope, Frame, Membership, MessageType, ServerId,
};
use super::{Adapter, AdapterFactory, LocalNamespace, Room};

/// The `tokio-postgres` crate this adapter is built on, to build a
/// [`client::Config`] for [`PostgresAdapterFactory::with_config`].
pub use ::tokio_postgres as client;

const LABEL: &str = "Postgres adapter";
/// How long one query may take before the adapter gives up on it.
const QUERY_WAIT: Duration = Duration::from_secs(5);
/// How long the first message of a namespace waits for its LISTEN, so the
/// other servers' answers to its announcement are heard.
const LISTEN_WAIT: Duration = Duration::from_secs(5);
/// How long a failed connection of the publishing side is not retried:
/// messages are dropped at once meanwhile rather than each waiting for a
/// connection timeout.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Options of the Postgres adapter, named after Node's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresAdapterConfig {
    /// The channel prefix (Node's `channelPrefix`, default `socket.io`):
    /// namespace `nsp` notifies on `<prefix>#<nsp>`.
    pub channel_prefix: String,
    /// The attachments table (Node's `tableName`, default
    /// `socket_io_attachments`). Written into SQL as is, as Node does, so
    /// it may name a schema (`app.attachments`); it comes from the
    /// application, never from a peer.
    pub table_name: String,
    /// JSON payloads longer than this many bytes go to the attachments
    /// table (Node's `payloadThreshold`, 8000: PostgreSQL's NOTIFY limit).
    pub payload_threshold: usize,
    /// How often attachments older than this are deleted (Node's
    /// `cleanupInterval`, 30 s).
    pub cleanup_interval: Duration,
    /// A heartbeat goes out after this long without publishing (Node's
    /// `heartbeatInterval`, 5 s).
    pub heartbeat_interval: Duration,
    /// A server not heard from for this long is no longer counted (Node's
    /// `heartbeatTimeout`, 10 s).
    pub heartbeat_timeout: Duration,
    /// How long `fetchSockets` and `serverSideEmitWithAck` wait for the
    /// other servers (5 s, Node's fixed timeout).
    pub requests_timeout: Duration,
    /// Most messages queued for publishing per namespace; past it messages
    /// are dropped (and logged) rather than piling up while PostgreSQL is
    /// away.
    pub max_queued_publishes: usize,
    /// How long connecting may take, at construction and when reconnecting
    /// (unless the connection string sets `connect_timeout`).
    pub connect_timeout: Duration,
}

engineio::__option_setters!(PostgresAdapterConfig {
    channel_prefix: impl Into<String>,
    table_name: impl Into<String>,
    payload_threshold: usize,
    cleanup_interval: Duration,
    heartbeat_interval: Duration,
    heartbeat_timeout: Duration,
    requests_timeout: Duration,
    max_queued_publishes: usize,
    connect_timeout: Duration,
});

impl Default for PostgresAdapterConfig {
    fn default() -> Self {
        PostgresAdapterConfig {
            channel_prefix: "socket.io".into(),
            table_name: "socket_io_attachments".into(),
            payload_threshold: DEFAULT_PAYLOAD_THRESHOLD,
            cleanup_interval: Duration::from_millis(30_000),
            heartbeat_interval: Duration::from_millis(5_000),
            heartbeat_timeout: Duration::from_millis(10_000),
            requests_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_queued_publishes: 65_536,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum PostgresAdapterError {
    /// PostgreSQL refused or failed (unreachable, authentication, the
    /// attachments table neither present nor creatable).
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// PostgreSQL did not answer in time.
    #[error("timed out connecting to PostgreSQL")]
    Timeout,
    /// The factory must be created inside a tokio runtime.
    #[error("the Postgres adapter needs a tokio runtime")]
    NoRuntime,
    /// The connection string cannot be used.
    #[error("Postgres connection options: {0}")]
    Config(String),
}

/// Creates the Postgres adapter of every namespace of one server: pass it
/// to [`crate::SocketIo::with_adapter`]. One factory per server.
#[derive(Clone)]
pub struct PostgresAdapterFactory {
    factory: Arc<dyn AdapterFactory>,
    queue: Arc<QueueGauge>,
    unsent: Arc<AtomicU64>,
}

/// What one server's adapter did with the messages it publishes, summed
/// over its namespaces: a metric to export, and what shows that nothing
/// piles up while PostgreSQL is away (messages are then dropped, one
/// connection attempt a second at most, rather than queued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishStats {
    /// Messages waiting to be published now.
    pub queued: usize,
    /// The most messages ever waiting at once.
    pub peak_queued: usize,
    /// Messages dropped: a namespace's queue was full, PostgreSQL could
    /// not be reached, or it refused the query.
    pub dropped: u64,
}

impl std::fmt::Debug for PostgresAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAdapterFactory")
            .finish_non_exhaustive()
    }
}

impl PostgresAdapterFactory {
    /// Connects to the database of `conninfo` (a `postgres://` URL or a
    /// `key=value` string, as libpq reads them) with the default options.
    pub async fn new(conninfo: &str) -> Result<PostgresAdapterFactory, PostgresAdapterError> {
        Self::connect(conninfo, PostgresAdapterConfig::default()).await
    }

    /// Connects to the database of `conninfo` with `config`.
    pub async fn connect(
        conninfo: &str,
        config: PostgresAdapterConfig,
    ) -> Result<PostgresAdapterFactory, PostgresAdapterError> {
        let pg: tokio_postgres::Config = conninfo
            .parse()
            .map_err(|e: tokio_postgres::Error| PostgresAdapterError::Config(e.to_string()))?;
        Self::with_config(pg, config).await
    }

    /// What the adapter did with the messages it publishes so far.
    pub fn publish_stats(&self) -> PublishStats {
        PublishStats {
            queued: self.queue.queued(),
            peak_queued: self.queue.peak(),
            dropped: self.queue.dropped_full() + self.unsent.load(Ordering::Relaxed),
        }
    }

    /// Connects with `pg` and `config`: both connections are open, and the
    /// attachments table exists, when this returns.
    pub async fn with_config(
        mut pg: tokio_postgres::Config,
        config: PostgresAdapterConfig,
    ) -> Result<PostgresAdapterFactory, PostgresAdapterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| PostgresAdapterError::NoRuntime)?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(config.connect_timeout);
        }
        let wait = pg
            .get_connect_timeout()
            .copied()
            .unwrap_or(config.connect_timeout)
            + QUERY_WAIT;
        let transport = tokio::time::timeout(wait, PostgresTransport::start(pg, &config))
            .await
            .map_err(|_| PostgresAdapterError::Timeout)??;
        let mut cluster =
            ClusterConfig::new(config.requests_timeout, config.max_queued_publishes, None);
        cluster.heartbeat_interval = config.heartbeat_interval;
        cluster.heartbeat_timeout = config.heartbeat_timeout;
        Ok(PostgresAdapterFactory {
            queue: cluster.queue.clone(),
            unsent: transport.shared.unsent.clone(),
            factory: Arc::new(ClusterAdapterFactory::new(
                Arc::new(transport),
                cluster,
                runtime,
            )),
        })
    }
}

impl AdapterFactory for PostgresAdapterFactory {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        self.factory.create(nsp)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        self.factory.create_for(nsp, local)
    }
}

/// Opens a connection, its IO driven by a task of its own.
async fn open(
    pg: &tokio_postgres::Config,
) -> Result<(Client, Connection<Socket, NoTlsStream>), PostgresAdapterError> {
    let wait = pg.get_connect_timeout().copied().unwrap_or(QUERY_WAIT) + QUERY_WAIT;
    match tokio::time::timeout(wait, pg.connect(NoTls)).await {
        Ok(Ok(pair)) => Ok(pair),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(PostgresAdapterError::Timeout),
    }
}

/// A query bounded by [`QUERY_WAIT`]; its failure as text for the logs.
async fn bounded<T>(
    what: &str,
    query: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(QUERY_WAIT, query).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: timed out")),
    }
}

/// `SELECT pg_notify(channel, payload)`, its parameter types given so it
/// takes one round trip (no statement to prepare first).
async fn notify(
    client: &Client,
    channel: &str,
    payload: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute_typed(
            "SELECT pg_notify($1, $2)",
            &[(&channel, Type::TEXT), (&payload, Type::TEXT)],
        )
        .await
}

/// The connection that publishes, fetches attachments and cleans up.
struct Commands {
    pg: tokio_postgres::Config,
    client: tokio::sync::Mutex<Option<Arc<Client>>>,
    /// No reconnection before then, after a failed one.
    paused_until: Mutex<Option<Instant>>,
}

impl Commands {
    fn with(pg: tokio_postgres::Config, client: Client) -> Commands {
        Commands {
            pg,
            client: tokio::sync::Mutex::new(Some(Arc::new(client))),
            paused_until: Mutex::new(None),
        }
    }

    /// The open connection, reopened if it was lost; `None` while
    /// PostgreSQL cannot be reached.
    async fn client(&self) -> Option<Arc<Client>> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Some(client.clone());
        }
        *slot = None;
        if self.paused_until.lock().is_some_and(|t| Instant::now() < t) {
            return None;
        }
        match open(&self.pg).await {
            Ok((client, connection)) => {
                tokio::spawn(drive_commands(connection));
                tracing::info!("{LABEL}: publishing connection reopened");
                let client = Arc::new(client);
                *slot = Some(client.clone());
                Some(client)
            }
            Err(e) => {
                *self.paused_until.lock() = Some(Instant::now() + RECONNECT_PAUSE);
                tracing::warn!(error = %e, "{LABEL}: cannot reach PostgreSQL; messages are dropped");
                None
            }
        }
    }
}

/// Drives a connection whose notifications nobody reads.
async fn drive_commands(connection: Connection<Socket, NoTlsStream>) {
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "{LABEL}: publishing connection lost");
    }
}

/// What the listener task is asked to do.
enum ListenOp {
    /// Bring the LISTEN of `nsp`'s channel in line with its subscribers.
    Sync {
        nsp: String,
        done: Option<oneshot::Sender<()>>,
    },
}

/// State shared by the transport and its tasks.
struct Shared {
    codec: PostgresCodec,
    table: String,
    commands: Commands,
    /// The adapters of each namespace.
    subscribers: Mutex<HashMap<String, Vec<Weak<dyn Subscriber>>>>,
    /// Per namespace, whether its channel is listened to now.
    listening: Mutex<HashMap<String, watch::Sender<bool>>>,
    ops: mpsc::UnboundedSender<ListenOp>,
    /// Messages PostgreSQL did not take.
    unsent: Arc<AtomicU64>,
}

impl Shared {
    fn live(&self, nsp: &str) -> Vec<Arc<dyn Subscriber>> {
        let mut subs = self.subscribers.lock();
        let Some(list) = subs.get_mut(nsp) else {
            return Vec::new();
        };
        list.retain(|w| w.strong_count() > 0);
        list.iter().filter_map(Weak::upgrade).collect()
    }

    fn wanted(&self) -> Vec<String> {
        let mut subs = self.subscribers.lock();
        subs.retain(|_, list| {
            list.retain(|w| w.strong_count() > 0);
            !list.is_empty()
        });
        subs.keys().cloned().collect()
    }

    fn is_own(&self, uid: &ServerId) -> bool {
        self.subscribers
            .lock()
            .values()
            .flatten()
            .filter_map(Weak::upgrade)
            .any(|s| s.uid() == uid)
    }

    fn set_listening(&self, nsp: &str, on: bool) {
        let mut map = self.listening.lock();
        map.entry(nsp.to_owned())
            .or_insert_with(|| watch::channel(false).0)
            .send_replace(on);
    }

    fn all_not_listening(&self) {
        for tx in self.listening.lock().values() {
            tx.send_replace(false);
        }
    }

    /// Waits (boundedly) until `nsp`'s channel is listened to.
    async fn until_listening(&self, nsp: &str) {
        let mut rx = self
            .listening
            .lock()
            .entry(nsp.to_owned())
            .or_insert_with(|| watch::channel(false).0)
            .subscribe();
        if tokio::time::timeout(LISTEN_WAIT, rx.wait_for(|on| *on))
            .await
            .is_err()
        {
            tracing::warn!(nsp, "{LABEL}: not listening yet; announcing anyway");
        }
    }

    async fn send(&self, outbound: Outbound) {
        let Some(client) = self.commands.client().await else {
            self.unsent.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let result = match outbound {
            Outbound::Notify { channel, payload } => {
                bounded("NOTIFY", notify(&client, &channel, &payload)).await
            }
            Outbound::Attachment {
                channel,
                payload,
                uid,
                kind,
            } => {
                self.send_attachment(&client, &channel, &payload, uid, kind)
                    .await
            }
        };
        if let Err(e) = result {
            self.unsent.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "{LABEL}: message not sent");
        }
    }

    async fn send_attachment(
        &self,
        client: &Client,
        channel: &str,
        payload: &[u8],
        uid: Option<ServerId>,
        kind: MessageType,
    ) -> Result<u64, String> {
        let insert = format!(
            "INSERT INTO {} (payload) VALUES ($1) RETURNING id",
            self.table
        );
        let rows = bounded(
            "INSERT attachment",
            client.query_typed(&insert, &[(&payload, Type::BYTEA)]),
        )
        .await?;
        let id: i64 = rows
            .first()
            .ok_or_else(|| "INSERT returned no id".to_owned())?
            .try_get(0)
            .map_err(|e| format!("attachment id: {e}"))?;
        let header = PostgresCodec::attachment_header(uid.as_ref(), kind, id);
        bounded("NOTIFY", notify(client, channel, &header)).await
    }

    /// Reads one notification and hands it to its namespace's adapters.
    async fn dispatch(&self, notification: Notification) {
        let frame = match self
            .codec
            .decode_notification(notification.payload().as_bytes())
        {
            Ok(Inbound::Frame(frame)) => frame,
            Ok(Inbound::Attachment { uid, id }) => {
                // This server's own messages come back: no need to fetch them.
                if uid.as_ref().is_some_and(|u| self.is_own(u)) {
                    return;
                }
                match self.fetch_attachment(id).await {
                    Ok(frame) => frame,
                    Err(e) => {
                        tracing::warn!(channel = notification.channel(), id, error = %e, "{LABEL}: attachment dropped");
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(channel = notification.channel(), error = %e, "{LABEL}: notification dropped");
                return;
            }
        };
        for subscriber in self.live(&frame.nsp) {
            subscriber.receive(frame.clone(), None);
        }
    }

    async fn fetch_attachment(&self, id: i64) -> Result<Envelope<Frame>, String> {
        let client = self
            .commands
            .client()
            .await
            .ok_or_else(|| "PostgreSQL unreachable".to_owned())?;
        let select = format!("SELECT payload FROM {} WHERE id = $1", self.table);
        let rows = bounded(
            "SELECT attachment",
            client.query_typed(&select, &[(&id, Type::INT8)]),
        )
        .await?;
        let row = rows
            .first()
            .ok_or_else(|| "no such attachment (cleaned up?)".to_owned())?;
        let payload: Vec<u8> = row.try_get(0).map_err(|e| format!("payload: {e}"))?;
        self.codec
            .decode_attachment(&payload)
            .map_err(|e| e.to_string())
    }

    /// Node's cleanup: rows older than the interval.
    async fn cleanup(&self, interval: Duration) {
        let Some(client) = self.commands.client().await else {
            return;
        };
        let sql = format!(
            "DELETE FROM {} WHERE created_at < now() - interval '{} milliseconds'",
            self.table,
            interval.as_millis()
        );
        if let Err(e) = bounded("cleanup", client.execute(&sql, &[])).await {
            tracing::warn!(error = %e, "{LABEL}: attachments not cleaned up");
        }
    }
}

/// One server's Postgres transport; its tasks stop when it is dropped.
struct PostgresTransport {
    shared: Arc<Shared>,
    _stop: watch::Sender<()>,
}

impl PostgresTransport {
    async fn start(
        pg: tokio_postgres::Config,
        config: &PostgresAdapterConfig,
    ) -> Result<PostgresTransport, PostgresAdapterError> {
        let (client, connection) = open(&pg).await?;
        tokio::spawn(drive_commands(connection));
        ensure_table(&client, &config.table_name).await?;
        // The listener connects before the factory exists, so an
        // unreachable database is reported here rather than retried.
        let listener = open(&pg).await?;
        let (ops, ops_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            codec: PostgresCodec::new(config.channel_prefix.clone())
                .payload_threshold(config.payload_threshold),
            table: config.table_name.clone(),
            commands: Commands::with(pg.clone(), client),
            subscribers: Mutex::new(HashMap::new()),
            listening: Mutex::new(HashMap::new()),
            ops,
            unsent: Arc::default(),
        });
        let (stop, stop_rx) = watch::channel(());
        let (notes_tx, notes_rx) = mpsc::unbounded_channel();
        tokio::spawn(listener_task(
            pg,
            Some(listener),
            shared.clone(),
            ops_rx,
            notes_tx,
            stop_rx.clone(),
        ));
        tokio::spawn(dispatch_task(shared.clone(), notes_rx, stop_rx.clone()));
        if !config.cleanup_interval.is_zero() {
            tokio::spawn(cleanup_task(
                shared.clone(),
                config.cleanup_interval,
                stop_rx,
            ));
        }
        Ok(PostgresTransport {
            shared,
            _stop: stop,
        })
    }
}

/// Node's DDL, as its README gives it; a table that exists already is
/// fine even where this user may not create tables.
async fn ensure_table(client: &Client, table: &str) -> Result<(), PostgresAdapterError> {
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {table} (
            id          bigserial UNIQUE,
            created_at  timestamptz DEFAULT NOW(),
            payload     bytea
        )"
    );
    let created = tokio::time::timeout(QUERY_WAIT, client.batch_execute(&ddl)).await;
    match created {
        Ok(Ok(())) => Ok(()),
        Ok(Err(create_error)) => {
            let probe = format!("SELECT id, created_at, payload FROM {table} LIMIT 0");
            match tokio::time::timeout(QUERY_WAIT, client.batch_execute(&probe)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(create_error.into()),
                Err(_) => Err(PostgresAdapterError::Timeout),
            }
        }
        Err(_) => Err(PostgresAdapterError::Timeout),
    }
}

/// Holds the LISTEN connection: listens to the channel of every namespace
/// with adapters, forwards notifications in order, and reconnects after 1
/// to 3 s (Node's delay) when the connection is lost.
async fn listener_task(
    pg: tokio_postgres::Config,
    mut first: Option<(Client, Connection<Socket, NoTlsStream>)>,
    shared: Arc<Shared>,
    mut ops: mpsc::UnboundedReceiver<ListenOp>,
    notes: mpsc::UnboundedSender<Notification>,
    mut stop: watch::Receiver<()>,
) {
    loop {
        let reconnecting = first.is_none();
        let opened = match first.take() {
            Some(pair) => Ok(pair),
            None => open(&pg).await,
        };
        match opened {
            Ok((client, connection)) => {
                if reconnecting {
                    tracing::info!("{LABEL}: listening connection reopened");
                }
                let lost = listen_on(&shared, client, connection, &mut ops, &notes, &mut stop);
                if !lost.await {
                    return;
                }
                shared.all_not_listening();
                tracing::warn!("{LABEL}: listening connection lost; reconnecting");
            }
            Err(e) => {
                tracing::warn!(error = %e, "{LABEL}: cannot reach PostgreSQL to listen; retrying");
            }
        }
        let delay = Duration::from_millis(rand::rng().random_range(1_000..3_000));
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Serves one LISTEN connection; true when it was lost, false when the
/// transport stopped.
async fn listen_on(
    shared: &Shared,
    client: Client,
    mut connection: Connection<Socket, NoTlsStream>,
    ops: &mut mpsc::UnboundedReceiver<ListenOp>,
    notes: &mpsc::UnboundedSender<Notification>,
    stop: &mut watch::Receiver<()>,
) -> bool {
    // The connection's IO, and so its notifications, on a task of its own,
    // so the LISTEN queries below can be awaited here.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if tx.send(n).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "{LABEL}: listening connection failed");
                    return;
                }
                None => return,
            }
        }
    });
    let _abort = AbortOnDrop(driver);
    for nsp in shared.wanted() {
        if !sync_listen(shared, &client, &nsp).await {
            return true;
        }
    }
    loop {
        tokio::select! {
            note = rx.recv() => match note {
                Some(n) => {
                    if notes.send(n).is_err() {
                        return false;
                    }
                }
                None => return true,
            },
            op = ops.recv() => match op {
                Some(ListenOp::Sync { nsp, done }) => {
                    let ok = sync_listen(shared, &client, &nsp).await;
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    if !ok {
                        return true;
                    }
                }
                None => return false,
            },
            _ = stop.changed() => return false,
        }
    }
}

/// LISTENs to `nsp`'s channel if it has adapters, UNLISTENs otherwise;
/// false when the connection failed.
async fn sync_listen(shared: &Shared, client: &Client, nsp: &str) -> bool {
    let channel = shared.codec.channel(nsp);
    let wanted = !shared.live(nsp).is_empty();
    let sql = if wanted {
        PostgresCodec::listen_sql(&channel)
    } else {
        PostgresCodec::unlisten_sql(&channel)
    };
    match bounded("LISTEN", client.batch_execute(&sql)).await {
        Ok(()) => {
            shared.set_listening(nsp, wanted);
            true
        }
        Err(e) => {
            tracing::warn!(channel, error = %e, "{LABEL}: LISTEN failed");
            false
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Hands notifications to the adapters in the order they arrived, fetching
/// attachments on the way.
async fn dispatch_task(
    shared: Arc<Shared>,
    mut notes: mpsc::UnboundedReceiver<Notification>,
    mut stop: watch::Receiver<()>,
) {
    loop {
        tokio::select! {
            note = notes.recv() => match note {
                Some(n) => shared.dispatch(n).await,
                None => return,
            },
            _ = stop.changed() => return,
        }
    }
}

async fn cleanup_task(shared: Arc<Shared>, interval: Duration, mut stop: watch::Receiver<()>) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => shared.cleanup(interval).await,
            _ = stop.changed() => return,
        }
    }
}

impl Transport for PostgresTransport {
    fn protocol(&self) -> Protocol {
        Protocol::Cluster
    }

    fn label(&self) -> &'static str {
        LABEL
    }

    fn membership(&self) -> Membership {
        Membership::Heartbeat
    }

    async fn publish(&self, envelope: Envelope<ClusterMessage>) -> Option<String> {
        if envelope.body == ClusterMessage::InitialHeartbeat {
            // The answers to this announcement must find the channel
            // listened to.
            self.shared.until_listening(&envelope.nsp).await;
        }
        match self.shared.codec.encode_message(&envelope) {
            Ok(outbound) => self.shared.send(outbound).await,
            Err(e) => {
                tracing::warn!(nsp = %envelope.nsp, error = %e, "{LABEL}: cannot encode message")
            }
        }
        None
    }

    async fn publish_response(&self, _to: Option<ServerId>, envelope: Envelope<ClusterResponse>) {
        match self.shared.codec.encode_response(&envelope) {
            Ok(outbound) => self.shared.send(outbound).await,
            Err(e) => {
                tracing::warn!(nsp = %envelope.nsp, error = %e, "{LABEL}: cannot encode response")
            }
        }
    }

    async fn server_count(&self, _nsp: &str) -> Option<usize> {
        None
    }

    fn subscribe(&self, subscriber: Weak<dyn Subscriber>) {
        let Some(nsp) = subscriber.upgrade().map(|s| s.nsp().to_owned()) else {
            return;
        };
        self.shared
            .subscribers
            .lock()
            .entry(nsp.clone())
            .or_default()
            .push(subscriber);
        let _ = self.shared.ops.send(ListenOp::Sync { nsp, done: None });
    }

    fn unsubscribe(
        &self,
        subscriber: Weak<dyn Subscriber>,
        nsp: &str,
        _uid: &ServerId,
        _rooms: &[Room],
    ) -> BoxFuture<'static, ()> {
        if let Some(list) = self.shared.subscribers.lock().get_mut(nsp) {
            list.retain(|w| !w.ptr_eq(&subscriber) && w.strong_count() > 0);
        }
        let (done, confirmed) = oneshot::channel();
        let _ = self.shared.ops.send(ListenOp::Sync {
            nsp: nsp.to_owned(),
            done: Some(done),
        });
        Box::pin(async move {
            let _ = confirmed.await;
        })
    }
}
