//! The options of [`instrument`](super::instrument), named after the
//! reference's `instrument(io, opts)`.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::store::{InMemoryStore, SessionStore};
use crate::proto::Value;

/// An application's check of the admin UI's CONNECT payload (see
/// [`AdminAuth::custom`]).
pub type AdminAuthCheck = Arc<dyn Fn(Value) -> BoxFuture<'static, bool> + Send + Sync>;

/// How the admin UI logs in (the reference's `auth`). There is no default:
/// as in the reference, leaving it unset is an error.
#[derive(Clone)]
pub enum AdminAuth {
    /// `auth: false`: anyone who reaches the namespace administers the
    /// server.
    Disabled,
    /// `{type: "basic", username, password}`: the UI sends a username and a
    /// password; `password_hash` is the password's bcrypt hash (`$2a$`,
    /// `$2b$`, `$2x$` or `$2y$`).
    Basic {
        /// The expected username.
        username: String,
        /// The bcrypt hash of the expected password.
        password_hash: String,
    },
    /// Not in the reference: the application decides from the CONNECT
    /// payload (`{username, password}` from the official UI), e.g. plain
    /// credentials from a configuration, several accounts, or a callback of
    /// another language. A UI it accepts gets a session id, as with
    /// [`AdminAuth::Basic`].
    Custom(AdminAuthCheck),
}

impl AdminAuth {
    /// Basic authentication with a username and a bcrypt hash.
    pub fn basic(username: impl Into<String>, password_hash: impl Into<String>) -> AdminAuth {
        AdminAuth::Basic {
            username: username.into(),
            password_hash: password_hash.into(),
        }
    }

    /// The application's own check: `check` gets the CONNECT payload and
    /// says whether the UI may in.
    ///
    /// ```
    /// use socketio::admin::AdminAuth;
    /// let auth = AdminAuth::custom(|payload| async move {
    ///     payload.get("username").and_then(|u| u.as_str()) == Some("admin")
    ///         && payload.get("password").and_then(|p| p.as_str()) == Some("changeit")
    /// });
    /// # let _ = auth;
    /// ```
    pub fn custom<F, Fut>(check: F) -> AdminAuth
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        AdminAuth::Custom(Arc::new(move |payload| Box::pin(check(payload))))
    }
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminAuth::Disabled => f.write_str("Disabled"),
            AdminAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
            AdminAuth::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// How much the UI is told (the reference's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminMode {
    /// Every socket, room and event: `all_sockets`, `socket_connected`,
    /// `room_joined`, `event_received`... (the default).
    #[default]
    Development,
    /// Only the periodic `server_stats` and the aggregated counts, for a
    /// smaller footprint.
    Production,
}

impl AdminMode {
    /// `"development"` or `"production"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminMode::Development => "development",
            AdminMode::Production => "production",
        }
    }
}

impl fmt::Display for AdminMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown mode name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid admin mode {0:?}: expected \"development\" or \"production\"")]
pub struct InvalidMode(pub String);

impl FromStr for AdminMode {
    type Err = InvalidMode;

    /// `"development"` or `"production"`. Stricter than the reference,
    /// which takes any other word for production.
    fn from_str(s: &str) -> Result<AdminMode, InvalidMode> {
        match s {
            "development" => Ok(AdminMode::Development),
            "production" => Ok(AdminMode::Production),
            other => Err(InvalidMode(other.to_owned())),
        }
    }
}

/// The options of [`instrument`](super::instrument), built in the
/// reference's terms:
///
/// ```
/// use socketio::admin::{AdminAuth, AdminMode, AdminOptions};
/// let opts = AdminOptions::new()
///     .auth(AdminAuth::basic(
///         "admin",
///         "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS",
///     ))
///     .mode(AdminMode::Production)
///     .readonly(true)
///     .namespace_name("/admin")
///     .server_id("eu-1");
/// # let _ = opts;
/// ```
#[derive(Clone)]
pub struct AdminOptions {
    pub(crate) auth: Option<AdminAuth>,
    pub(crate) namespace_name: String,
    pub(crate) readonly: bool,
    pub(crate) server_id: Option<String>,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) mode: AdminMode,
    pub(crate) stats_interval: Duration,
}

impl Default for AdminOptions {
    fn default() -> Self {
        AdminOptions::new()
    }
}

impl fmt::Debug for AdminOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminOptions")
            .field("auth", &self.auth)
            .field("namespace_name", &self.namespace_name)
            .field("readonly", &self.readonly)
            .field("server_id", &self.server_id)
            .field("mode", &self.mode)
            .field("stats_interval", &self.stats_interval)
            .finish_non_exhaustive()
    }
}

impl AdminOptions {
    /// The reference's defaults: namespace `/admin`, not read-only,
    /// development mode, an [`InMemoryStore`], the server id from the host
    /// name, and `auth` unset (which [`instrument`](super::instrument)
    /// refuses: choose [`AdminAuth::Basic`] or [`AdminAuth::Disabled`]).
    pub fn new() -> AdminOptions {
        AdminOptions {
            auth: None,
            namespace_name: "/admin".to_owned(),
            readonly: false,
            server_id: None,
            store: Arc::new(InMemoryStore::new()),
            mode: AdminMode::Development,
            stats_interval: super::STATS_INTERVAL,
        }
    }

    /// `auth`: how the UI logs in.
    pub fn auth(mut self, auth: AdminAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// `namespaceName`: the namespace the UI connects to (default `/admin`;
    /// a leading `/` is added when missing, as `io.of` does).
    pub fn namespace_name(mut self, name: impl Into<String>) -> Self {
        self.namespace_name = name.into();
        self
    }

    /// `readonly`: the UI may look but not join, leave, disconnect or emit.
    pub fn readonly(mut self, readonly: bool) -> Self {
        self.readonly = readonly;
        self
    }

    /// `serverId`: this server's id in the UI (default: the host name, as
    /// the reference gives a process that is not a cluster worker). Give
    /// servers sharing a host distinct ids, e.g. `format!("{host}#{pid}")`.
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }

    /// `store`: where the session ids handed to logged-in UIs are kept, so
    /// a UI reconnects without the password (default: in memory; share one
    /// across a cluster, e.g. the `RedisStore` of the `redis` feature).
    pub fn store(mut self, store: impl SessionStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// [`AdminOptions::store`] with a store already shared.
    pub fn store_arc(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = store;
        self
    }

    /// `mode`: [`AdminMode::Development`] (default) or
    /// [`AdminMode::Production`].
    pub fn mode(mut self, mode: AdminMode) -> Self {
        self.mode = mode;
        self
    }

    /// How often `server_stats` goes out. Not an option of the reference,
    /// which sends them every 2 s ([`STATS_INTERVAL`](super::STATS_INTERVAL),
    /// the default); python-socketio's `server_stats_interval`. The UI marks
    /// a server unhealthy when it has not heard from it for a while, so
    /// keep it to a few seconds.
    pub fn server_stats_interval(mut self, interval: Duration) -> Self {
        self.stats_interval = interval;
        self
    }
}

/// Why [`instrument`](super::instrument) refused its options; the messages
/// are the reference's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// `auth` was left unset.
    #[error("the `auth` option must be specified or explicitly set to `false`")]
    MissingAuth,
    /// The basic authentication's password is not a bcrypt hash.
    #[error("the `password` field must be a valid bcrypt hash")]
    InvalidPasswordHash,
    /// The `server_stats` interval is zero.
    #[error("the `server_stats` interval must be positive")]
    InvalidStatsInterval,
    /// Called outside a Tokio runtime (the periodic statistics need one).
    #[error("instrument() needs a Tokio runtime: call it from a task or inside Handle::enter")]
    NoRuntime,
}
