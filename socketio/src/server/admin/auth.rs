//! The admin namespace's middleware for basic authentication, as the
//! reference's: a known `sessionId` in the CONNECT payload lets the UI in;
//! otherwise `username` and `password` must match, and a fresh session id is
//! sent (`session` event, ahead of the CONNECT reply) and saved. Anything
//! else is refused with `invalid credentials`.

use std::sync::Arc;

use crate::proto::{Packet, Value};
use crate::server::client::send_packet;
use crate::server::{ConnectError, Socket};

use super::store::SessionStore;

/// The reference's refusal.
pub(crate) const INVALID_CREDENTIALS: &str = "invalid credentials";

/// What the middleware checks against.
pub(crate) struct BasicAuth {
    pub(crate) username: String,
    pub(crate) password_hash: String,
    pub(crate) store: Arc<dyn SessionStore>,
}

/// Whether `hash` is a bcrypt hash the check can use.
pub(crate) fn valid_hash(hash: &str) -> bool {
    hash.parse::<bcrypt::HashParts>().is_ok()
}

/// 8 random bytes in hex, as the reference's `randomId()`.
fn random_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl BasicAuth {
    /// Admits or refuses an admin socket.
    pub(crate) async fn check(self: Arc<Self>, socket: Arc<Socket>) -> Result<(), ConnectError> {
        let auth = &socket.handshake().auth;
        if let Some(Value::String(id)) = auth.get("sessionId") {
            if !id.is_empty() && self.store.does_session_exist(id).await {
                return Ok(());
            }
        }
        let (Some(Value::String(username)), Some(Value::String(password))) =
            (auth.get("username"), auth.get("password"))
        else {
            return Err(ConnectError::new(INVALID_CREDENTIALS));
        };
        if *username != self.username {
            return Err(ConnectError::new(INVALID_CREDENTIALS));
        }
        // bcrypt takes tens of milliseconds on purpose: off the runtime's
        // worker threads.
        let password = password.clone();
        let me = self.clone();
        let matches =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &me.password_hash))
                .await
                .is_ok_and(|r| r.unwrap_or(false));
        if !matches {
            return Err(ConnectError::new(INVALID_CREDENTIALS));
        }
        let id = random_id();
        self.store.save_session(&id);
        // As the reference's `socket.emit("session", id)` in the middleware:
        // written before the CONNECT reply; the client hands it to its
        // listeners once connected.
        let packet = Packet::event(
            socket.nsp(),
            vec![Value::from("session"), Value::String(id)],
        );
        let _ = send_packet(&socket.client, &packet);
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
