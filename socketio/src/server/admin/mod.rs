//! The server side of the Socket.IO Admin UI (`@socket.io/admin-ui` 0.5):
//! [`instrument`] does what the npm package's `instrument(io, opts)` does, on
//! the same wire, so the official UI (the hosted one or its `ui/dist` files)
//! administers a Rust server as it does a Node one.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::admin::{instrument, AdminAuth, AdminOptions};
//! let io = socketio::SocketIo::new(Default::default());
//! instrument(
//!     &io,
//!     AdminOptions::new().auth(AdminAuth::basic(
//!         "admin",
//!         // "changeit", hashed with bcrypt
//!         "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS",
//!     )),
//! )?;
//! let listener = io.listen("127.0.0.1:3000").await?;
//! listener.stopped().await;
//! # Ok(()) }
//! ```
//!
//! What it sets up, as the reference:
//! * the namespace `namespace_name` (`/admin`), behind a middleware checking
//!   [`AdminAuth::Basic`] credentials, or the application's
//!   [`AdminAuth::custom`] check (refused with `invalid credentials`), and
//!   handing out session ids kept in the [`SessionStore`];
//! * on each UI connection: `session` (after a login with the password;
//!   sent after the CONNECT reply, where the reference writes it before),
//!   `config` (`{supportedFeatures}`), then in
//!   development mode `all_sockets` (every socket of every namespace, across
//!   the cluster), and the actions `emit`, `join`, `leave`, `_disconnect`
//!   unless read-only;
//! * every 2 s (or [`AdminOptions::server_stats_interval`]), `server_stats`
//!   to the admin namespace;
//! * in development mode, `socket_connected`, `socket_updated`,
//!   `socket_disconnected`, `room_joined`, `room_left`, `event_received` and
//!   `event_sent` as they happen, and `socket.data` gains the reference's
//!   `_admin: {clientId, transport}`.
//!
//! Everything the UI receives is emitted on the admin namespace, so with a
//! cluster adapter it reaches UIs connected to any server of the cluster,
//! and `all_sockets` and the actions cover the whole cluster (the
//! namespaces' `fetch_all_sockets`, `sockets_join`, `sockets_leave`,
//! `disconnect_sockets`), as in a cluster of Node servers.

mod actions;
mod auth;
mod events;
mod options;
mod serialize;
mod stats;
mod store;

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use engineio::server::TransportType;
use indexmap::IndexMap;
use parking_lot::Mutex;

use crate::proto::Value;
use crate::server::{Namespace, ServerInner, SocketIo};

pub use options::{AdminAuth, AdminAuthCheck, AdminError, AdminMode, AdminOptions, InvalidMode};
#[cfg(feature = "redis")]
pub use store::RedisStore;
pub use store::{InMemoryStore, SessionStore};

use auth::{Authenticator, Check};
use stats::{ClientCounts, EventBuffer};

/// How often `server_stats` goes out (the reference's 2 s).
pub const STATS_INTERVAL: Duration = Duration::from_millis(2000);

/// The admin UI's side of one server.
pub(crate) struct AdminState {
    me: OnceLock<Weak<AdminState>>,
    server: Weak<ServerInner>,
    namespace_name: String,
    server_id: String,
    development: bool,
    features: Vec<&'static str>,
    events: EventBuffer,
    counts: ClientCounts,
    /// The namespaces in the order they were created, as the reference
    /// lists `io._nsps`.
    namespaces: Mutex<Vec<Weak<Namespace>>>,
}

impl AdminState {
    fn weak(&self) -> Weak<AdminState> {
        self.me.get().cloned().unwrap_or_default()
    }

    fn admin_namespace(&self) -> Option<Arc<Namespace>> {
        self.server.upgrade()?.namespace(&self.namespace_name)
    }

    /// Emits to every UI (across the cluster with a cluster adapter).
    fn emit(&self, event: &str, args: Vec<Value>) {
        if let Some(ns) = self.admin_namespace() {
            let _ = ns.broadcast().emit_args(event, args);
        }
    }

    /// Starts following a namespace, once.
    fn add_namespace(&self, ns: &Arc<Namespace>) {
        {
            let mut list = self.namespaces.lock();
            if list
                .iter()
                .any(|w| w.upgrade().is_some_and(|n| Arc::ptr_eq(&n, ns)))
            {
                return;
            }
            list.push(Arc::downgrade(ns));
        }
        if self.development {
            events::watch_rooms(self.weak(), ns);
        }
    }

    /// The server's namespaces, in creation order.
    fn live_namespaces(&self) -> Vec<Arc<Namespace>> {
        let Some(server) = self.server.upgrade() else {
            return Vec::new();
        };
        let mut list = self.namespaces.lock();
        // A removed dynamic child may outlive its removal for a moment.
        list.retain(|w| {
            w.upgrade().is_some_and(|ns| {
                server
                    .namespace(ns.name())
                    .is_some_and(|cur| Arc::ptr_eq(&cur, &ns))
            })
        });
        list.iter().filter_map(Weak::upgrade).collect()
    }

    /// The `server_stats` payload.
    fn stats(&self) -> Value {
        let mut o = IndexMap::new();
        o.insert("serverId".to_owned(), Value::from(self.server_id.as_str()));
        o.insert("hostname".to_owned(), Value::from(stats::hostname()));
        o.insert("pid".to_owned(), Value::from(std::process::id()));
        o.insert("uptime".to_owned(), Value::from(stats::uptime()));
        o.insert(
            "clientsCount".to_owned(),
            Value::from(self.counts.clients()),
        );
        o.insert(
            "pollingClientsCount".to_owned(),
            Value::from(self.counts.polling()),
        );
        o.insert("aggregatedEvents".to_owned(), self.events.take());
        let namespaces = self
            .live_namespaces()
            .iter()
            .map(|ns| {
                let mut n = IndexMap::new();
                n.insert("name".to_owned(), Value::from(ns.name()));
                n.insert("socketsCount".to_owned(), Value::from(ns.sockets().len()));
                Value::Object(n)
            })
            .collect();
        o.insert("namespaces".to_owned(), Value::Array(namespaces));
        Value::Object(o)
    }

    /// Every socket of every namespace, this server's and, through the
    /// adapter, the cluster's (the reference's `fetchAllSockets`).
    async fn all_sockets(&self) -> Value {
        let fetches = self.live_namespaces().into_iter().map(|ns| async move {
            ns.fetch_all_sockets()
                .await
                .into_iter()
                .map(|s| match s {
                    crate::server::FetchedSocket::Local(s) => serialize::local_socket(&s),
                    crate::server::FetchedSocket::Remote(r) => {
                        serialize::remote_socket(&r, ns.name())
                    }
                })
                .collect::<Vec<Value>>()
        });
        let all = futures_util::future::join_all(fetches).await;
        Value::Array(all.into_iter().flatten().collect())
    }

    /// `{supportedFeatures}`.
    fn config(&self) -> Value {
        let mut o = IndexMap::new();
        o.insert(
            "supportedFeatures".to_owned(),
            Value::Array(self.features.iter().map(|f| Value::from(*f)).collect()),
        );
        Value::Object(o)
    }
}

/// The admin UI set up on a server by [`instrument`]. It lives as long as
/// the server; dropping this handle changes nothing.
#[derive(Clone)]
pub struct Admin {
    state: Arc<AdminState>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("namespace", &self.state.namespace_name)
            .field("server_id", &self.state.server_id)
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// The admin namespace (`None` once the server is gone).
    pub fn namespace(&self) -> Option<Arc<Namespace>> {
        self.state.admin_namespace()
    }

    /// The namespace's name, e.g. `/admin`.
    pub fn namespace_name(&self) -> &str {
        &self.state.namespace_name
    }

    /// The id this server has in the UI.
    pub fn server_id(&self) -> &str {
        &self.state.server_id
    }

    /// The features offered to the UI (`config.supportedFeatures`).
    pub fn supported_features(&self) -> &[&'static str] {
        &self.state.features
    }

    /// The `server_stats` the UI would receive now. Takes the events
    /// aggregated since the last one, as sending it does.
    pub fn server_stats(&self) -> Value {
        self.state.stats()
    }
}

/// Sets up the admin UI on `io`, as the reference's `instrument(io, opts)`:
/// see the [module documentation](self). Needs a Tokio runtime (for the
/// periodic `server_stats`); call it before the server takes connections,
/// as connections already open are counted but not followed.
pub fn instrument(io: &SocketIo, options: AdminOptions) -> Result<Admin, AdminError> {
    let auth = match options.auth {
        None => return Err(AdminError::MissingAuth),
        Some(AdminAuth::Disabled) => {
            tracing::warn!("admin UI: authentication is disabled, please use with caution");
            None
        }
        Some(AdminAuth::Basic {
            username,
            password_hash,
        }) => {
            if !auth::valid_hash(&password_hash) {
                return Err(AdminError::InvalidPasswordHash);
            }
            Some(Check::Basic {
                username,
                password_hash,
            })
        }
        Some(AdminAuth::Custom(check)) => Some(Check::Custom(check)),
    };
    let auth = auth.map(|check| {
        Arc::new(Authenticator {
            check,
            store: options.store.clone(),
        })
    });
    if options.stats_interval.is_zero() {
        return Err(AdminError::InvalidStatsInterval);
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| AdminError::NoRuntime)?;
    let development = options.mode == AdminMode::Development;
    let namespace_name = match options.namespace_name.starts_with('/') {
        true => options.namespace_name.clone(),
        false => format!("/{}", options.namespace_name),
    };
    let state = Arc::new(AdminState {
        me: OnceLock::new(),
        server: Arc::downgrade(&io.inner),
        namespace_name: namespace_name.clone(),
        server_id: options.server_id.clone().unwrap_or_else(stats::hostname),
        development,
        features: actions::supported_features(options.readonly, development),
        events: EventBuffer::default(),
        counts: ClientCounts::default(),
        namespaces: Mutex::new(Vec::new()),
    });
    let _ = state.me.set(Arc::downgrade(&state));

    // The sessions already open, then every one to come.
    for conn in io.current().sockets() {
        state
            .counts
            .clients
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if conn.transport() == TransportType::Polling {
            state
                .counts
                .polling
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }
    io.inner.observers.add(state.clone());
    let mut existing = io.inner.all_namespaces();
    existing.sort_by(|a, b| (a.name() != "/", a.name()).cmp(&(b.name() != "/", b.name())));
    for ns in &existing {
        state.add_namespace(ns);
    }
    let admin = io.of(&namespace_name);

    if let Some(auth) = auth {
        admin.use_middleware(move |socket| auth.clone().admit(socket));
    }
    let st = state.clone();
    let readonly = options.readonly;
    admin.on_connection(move |socket| {
        let session = socket.extensions().remove::<auth::NewSession>();
        if let Some(auth::NewSession(id)) = session {
            let _ = socket.emit_args("session", vec![Value::String(id)]);
        }
        if !readonly {
            actions::register(st.server.clone(), &socket);
        }
        let _ = socket.emit_args("config", vec![st.config()]);
        if st.development {
            let st = st.clone();
            tokio::spawn(async move {
                let all = st.all_sockets().await;
                let _ = socket.emit_args("all_sockets", vec![all]);
            });
        }
    });

    let weak = Arc::downgrade(&state);
    let every = options.stats_interval;
    runtime.spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(state) = weak.upgrade() else { break };
            let stats = state.stats();
            state.emit("server_stats", vec![stats]);
        }
    });
    Ok(Admin { state })
}
