//! Where the session ids of logged-in UIs are kept (the reference's
//! `Store`): a UI that logged in with the password gets a `session` event
//! with an id, and reconnects with `auth: {sessionId}` instead.

use std::collections::HashSet;

use futures_util::future::BoxFuture;
use parking_lot::Mutex;

/// A session store. [`InMemoryStore`] serves one server; a cluster whose UI
/// may land on any server shares one (the `redis` feature's `RedisStore`,
/// or an implementation of this trait over another database).
pub trait SessionStore: Send + Sync + 'static {
    /// Whether `session_id` was saved (and has not expired).
    fn does_session_exist(&self, session_id: &str) -> BoxFuture<'static, bool>;
    /// Saves a session id handed to a UI that just logged in.
    fn save_session(&self, session_id: &str);
}

/// The sessions in this process's memory, kept until it exits (as the
/// reference's `InMemoryStore`).
#[derive(Debug, Default)]
pub struct InMemoryStore {
    sessions: Mutex<HashSet<String>>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> InMemoryStore {
        InMemoryStore::default()
    }
}

impl SessionStore for InMemoryStore {
    fn does_session_exist(&self, session_id: &str) -> BoxFuture<'static, bool> {
        let found = self.sessions.lock().contains(session_id);
        Box::pin(async move { found })
    }

    fn save_session(&self, session_id: &str) {
        self.sessions.lock().insert(session_id.to_owned());
    }
}

/// Sessions in Redis, under the keys the reference's `RedisStore` uses
/// (`<prefix>#<sessionId>`, default prefix `socket.io-admin`, kept for
/// `session_duration` seconds, default one day): npm and Rust servers of a
/// cluster can share it.
#[cfg(feature = "redis")]
#[derive(Clone)]
pub struct RedisStore {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    session_duration: u64,
}

#[cfg(feature = "redis")]
impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("session_duration", &self.session_duration)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "redis")]
impl RedisStore {
    /// A store on the Redis server at `url` (`redis://host:port`).
    pub async fn new(url: &str) -> redis::RedisResult<RedisStore> {
        let client = redis::Client::open(url)?;
        Ok(RedisStore::with_connection(
            client.get_connection_manager().await?,
        ))
    }

    /// A store on an existing connection.
    pub fn with_connection(conn: redis::aio::ConnectionManager) -> RedisStore {
        RedisStore {
            conn,
            prefix: "socket.io-admin".to_owned(),
            session_duration: 86_400,
        }
    }

    /// The key prefix (`prefix` in the reference).
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisStore {
        self.prefix = prefix.into();
        self
    }

    /// How long a session lasts, in seconds (`sessionDuration`).
    pub fn session_duration(mut self, seconds: u64) -> RedisStore {
        self.session_duration = seconds;
        self
    }

    fn key(&self, session_id: &str) -> String {
        format!("{}#{session_id}", self.prefix)
    }
}

#[cfg(feature = "redis")]
impl SessionStore for RedisStore {
    fn does_session_exist(&self, session_id: &str) -> BoxFuture<'static, bool> {
        let mut conn = self.conn.clone();
        let key = self.key(session_id);
        Box::pin(async move {
            match redis::cmd("EXISTS")
                .arg(&key)
                .query_async::<i64>(&mut conn)
                .await
            {
                Ok(n) => n == 1,
                Err(e) => {
                    tracing::debug!(error = %e, "admin session lookup failed");
                    false
                }
            }
        })
    }

    fn save_session(&self, session_id: &str) {
        let mut conn = self.conn.clone();
        let key = self.key(session_id);
        let ttl = self.session_duration;
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no Tokio runtime: admin session not saved");
            return;
        };
        rt.spawn(async move {
            let r = redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&key)
                .arg("true")
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(ttl)
                .ignore()
                .query_async::<()>(&mut conn)
                .await;
            if let Err(e) = r {
                tracing::debug!(error = %e, "admin session not saved");
            }
        });
    }
}
