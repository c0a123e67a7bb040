//! The Admin UI: `@socket.io/admin-ui`'s `instrument(io, opts)` on a native
//! server, served by the core (`sio_core::admin`). The JS layer
//! (`lib/admin.js`) checks the options as the npm package does and hands
//! them over normalised.

use std::sync::Arc;

use futures_util::FutureExt;
use napi_derive::napi;
use sio_core::admin::{AdminAuth, AdminMode, AdminOptions, InMemoryStore, SessionStore};
use socketio_ffi::embed::Error;

use crate::server::NativeServer;

/// The options, normalised by the JS layer.
#[napi(object)]
pub struct AdminOpts {
    /// `basic` (`username` and `password`, a bcrypt hash) or `none`
    /// (`auth: false`).
    pub auth: String,
    /// The expected username.
    pub username: Option<String>,
    /// The bcrypt hash of the expected password.
    pub password: Option<String>,
    /// `mode === 'development'`.
    pub development: bool,
    /// `readonly`.
    pub readonly: bool,
    /// `namespaceName`.
    pub namespace_name: String,
    /// `serverId`; absent: the host name.
    pub server_id: Option<String>,
}

/// The session ids of logged-in UIs, in memory (`InMemoryStore`); one
/// store may serve several servers of the process.
#[napi]
pub struct AdminStoreHandle {
    store: Arc<InMemoryStore>,
}

#[napi]
impl AdminStoreHandle {
    /// An empty store.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        AdminStoreHandle {
            store: Arc::new(InMemoryStore::new()),
        }
    }

    /// Whether `id` was saved.
    #[napi(catch_unwind)]
    pub fn has(&self, id: String) -> bool {
        // The in-memory store answers at once.
        self.store
            .does_session_exist(&id)
            .now_or_never()
            .unwrap_or(false)
    }

    /// Saves `id`.
    #[napi(catch_unwind)]
    pub fn save(&self, id: String) {
        self.store.save_session(&id);
    }
}

/// Serves the Admin UI on `server`, its sessions kept in `store`. A refused
/// option throws with the npm package's message.
#[napi(catch_unwind)]
pub fn admin_instrument(
    server: &NativeServer,
    opts: AdminOpts,
    store: &AdminStoreHandle,
) -> napi::Result<()> {
    let auth = match opts.auth.as_str() {
        "none" => AdminAuth::Disabled,
        "basic" => AdminAuth::basic(
            opts.username.unwrap_or_default(),
            opts.password.unwrap_or_default(),
        ),
        other => {
            return Err(napi::Error::from_reason(format!(
                "admin UI: unknown auth {other:?}"
            )))
        }
    };
    let mut options = AdminOptions::new()
        .auth(auth)
        .mode(if opts.development {
            AdminMode::Development
        } else {
            AdminMode::Production
        })
        .readonly(opts.readonly)
        .namespace_name(opts.namespace_name)
        .store_arc(store.store.clone());
    if let Some(id) = opts.server_id {
        options = options.server_id(id);
    }
    match server.server.instrument(options) {
        Ok(_) => Ok(()),
        // The core's message alone, as the npm package throws it.
        Err(Error::InvalidArgument(msg)) => Err(napi::Error::from_reason(msg)),
        Err(e) => Err(crate::js_err(e)),
    }
}
