//! The Admin UI on a [`Server`]: [`Server::instrument`] sets up the core's
//! `instrument` in the server's runtime, and [`Server::admin_check`] lets a
//! foreign callback decide who logs in.

use std::sync::Arc;

use sio_core::admin::{Admin, AdminAuth, AdminOptions};
use sio_core::Value;
use tokio::sync::oneshot;

use super::{Dispatch, Server};
use crate::embed::Error;

impl Server {
    /// Serves the Socket.IO Admin UI (`@socket.io/admin-ui`) on this
    /// server, as [`sio_core::admin::instrument`]: call it before the
    /// server takes connections. Options the core refuses (no `auth`, a
    /// password that is not a bcrypt hash) are [`Error::InvalidArgument`]
    /// with the core's message.
    pub fn instrument(&self, options: AdminOptions) -> Result<Admin, Error> {
        if self.ctx.is_closed() {
            return Err(Error::Closed("the server is closed".into()));
        }
        self.ctx
            .rt
            .enter(|| sio_core::admin::instrument(&self.io, options))
            .map_err(|e| Error::invalid(e.to_string()))
    }

    /// An [`AdminAuth`] asking `check` whether the UI's CONNECT payload (`{}`
    /// when it sent none) may log in. `check` runs as the server's other
    /// callbacks do: with an event queue, inside its `poll`; otherwise on a
    /// blocking thread, never on a runtime worker, so it may block (call an
    /// interpreter, a database). A panic, or a queue closed before it ran,
    /// refuses the UI.
    pub fn admin_check(&self, check: impl Fn(&Value) -> bool + Send + Sync + 'static) -> AdminAuth {
        let check = Arc::new(check);
        let ctx = self.ctx.clone();
        AdminAuth::custom(move |payload: Value| {
            let check = check.clone();
            let ctx = ctx.clone();
            async move {
                match &ctx.dispatch {
                    Dispatch::Direct => tokio::task::spawn_blocking(move || check(&payload))
                        .await
                        .unwrap_or(false),
                    Dispatch::Queue(_) => {
                        let (tx, rx) = oneshot::channel();
                        ctx.run(move || {
                            let _ = tx.send(check(&payload));
                        });
                        rx.await.unwrap_or(false)
                    }
                }
            }
        })
    }
}
