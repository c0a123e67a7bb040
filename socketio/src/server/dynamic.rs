//! Dynamic namespaces: children created on first connection when their name
//! matches a predicate or a regex, sharing the parent's middlewares and
//! connection handlers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Weak};

use parking_lot::RwLock;
use serde::Serialize;

use super::errors::{ConnectError, EmitError};
use super::namespace::{ConnectionHandler, Middleware, Namespace};
use super::socket::Socket;
use super::ServerInner;
use crate::proto::Value;

/// Decides whether a namespace name belongs to a parent namespace, given
/// the `auth` payload of the CONNECT asking for it (the reference's
/// `(name, auth, next)` functions read it).
pub type NamespaceMatcher = Arc<dyn Fn(&str, &Value) -> bool + Send + Sync>;

/// A parent namespace, as the reference's `ParentNamespace`: handlers and
/// middlewares registered here apply to every child.
pub struct ParentNamespace {
    matcher: NamespaceMatcher,
    pub(crate) middlewares: RwLock<Vec<Middleware>>,
    pub(crate) on_connection: RwLock<Vec<ConnectionHandler>>,
    children: RwLock<HashMap<String, Arc<Namespace>>>,
    server: Weak<ServerInner>,
}

impl std::fmt::Debug for ParentNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentNamespace").finish_non_exhaustive()
    }
}

impl ParentNamespace {
    pub(crate) fn new(matcher: NamespaceMatcher, server: Weak<ServerInner>) -> Self {
        ParentNamespace {
            matcher,
            middlewares: RwLock::new(Vec::new()),
            on_connection: RwLock::new(Vec::new()),
            children: RwLock::new(HashMap::new()),
            server,
        }
    }

    pub(crate) fn matches(&self, name: &str, auth: &Value) -> bool {
        (self.matcher)(name, auth)
    }

    /// Calls `handler` with every socket joining any child.
    pub fn on_connection(&self, handler: impl Fn(Arc<Socket>) + Send + Sync + 'static) {
        self.on_connection.write().push(Arc::new(handler));
    }

    /// Adds an async middleware run for every child, before the child's own.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.middlewares
            .write()
            .push(Arc::new(move |s| Box::pin(middleware(s))));
    }

    /// The children created so far.
    pub fn children(&self) -> Vec<Arc<Namespace>> {
        self.children.read().values().cloned().collect()
    }

    /// Emits to every socket of every child.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        for child in self.children() {
            child.emit(event, data)?;
        }
        Ok(())
    }

    pub(crate) fn add_child(&self, ns: Arc<Namespace>) {
        self.children.write().insert(ns.name().to_owned(), ns);
    }

    /// Drops an empty child (`cleanupEmptyChildNamespaces`).
    pub(crate) fn remove_child(&self, name: &str) {
        self.children.write().remove(name);
        if let Some(server) = self.server.upgrade() {
            server.remove_namespace(name);
        }
    }
}
