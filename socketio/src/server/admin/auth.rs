//! The admin namespace's middleware, as the reference's basic
//! authentication: a known `sessionId` in the CONNECT payload lets the UI
//! in; otherwise `username` and `password` must match (or the application's
//! own check accept the payload), and a fresh session id is saved and sent
//! (`session` event). Anything else is refused with `invalid credentials`.
//!
//! The reference emits `session` from the middleware, so it is written
//! ahead of the CONNECT reply, and `socket.io-client` hands it out before
//! its `connect` event, before the official UI listens for it: the UI never
//! keeps the id. Here it is the first event after the CONNECT reply, which
//! the UI does keep, and uses when it reconnects.

use std::sync::Arc;

use crate::proto::Value;
use crate::server::{ConnectError, Socket};

use super::options::AdminAuthCheck;
use super::store::SessionStore;

/// The reference's refusal.
pub(crate) const INVALID_CREDENTIALS: &str = "invalid credentials";

/// How credentials are checked.
pub(crate) enum Check {
    /// A username and the bcrypt hash of the password.
    Basic {
        username: String,
        password_hash: String,
    },
    /// The application's check of the CONNECT payload.
    Custom(AdminAuthCheck),
}

/// The admin namespace's middleware.
pub(crate) struct Authenticator {
    pub(crate) check: Check,
    pub(crate) store: Arc<dyn SessionStore>,
}

/// Whether `hash` is a bcrypt hash the check can use.
pub(crate) fn valid_hash(hash: &str) -> bool {
    hash.parse::<bcrypt::HashParts>().is_ok()
}

/// A session id for the connection handler to send.
#[derive(Clone)]
pub(crate) struct NewSession(pub(crate) String);

/// 8 random bytes in hex, as the reference's `randomId()`.
fn random_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Authenticator {
    /// Admits or refuses an admin socket.
    pub(crate) async fn admit(self: Arc<Self>, socket: Arc<Socket>) -> Result<(), ConnectError> {
        let auth = &socket.handshake().auth;
        if let Some(Value::String(id)) = auth.get("sessionId") {
            if !id.is_empty() && self.store.does_session_exist(id).await {
                return Ok(());
            }
        }
        let accepted = match &self.check {
            Check::Basic {
                username,
                password_hash,
            } => match (auth.get("username"), auth.get("password")) {
                (Some(Value::String(u)), Some(Value::String(p))) if u == username => {
                    // bcrypt takes tens of milliseconds on purpose: off the
                    // runtime's worker threads.
                    let (password, hash) = (p.clone(), password_hash.clone());
                    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
                        .await
                        .is_ok_and(|r| r.unwrap_or(false))
                }
                _ => false,
            },
            Check::Custom(check) => check(auth.clone()).await,
        };
        if !accepted {
            return Err(ConnectError::new(INVALID_CREDENTIALS));
        }
        let id = random_id();
        self.store.save_session(&id);
        socket.extensions().insert(NewSession(id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_recognised() {
        // "changeit", from the reference's documentation.
        assert!(valid_hash(
            "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS"
        ));
        assert!(!valid_hash("changeit"));
        assert!(!valid_hash(""));
        assert!(bcrypt::verify(
            "changeit",
            "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS"
        )
        .unwrap());
    }

    #[test]
    fn session_ids_are_16_hex_digits() {
        let a = random_id();
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_id());
    }
}
