//! Sending events: now when connected, into the send buffer otherwise, and
//! waiting for acknowledgements.

use std::sync::Arc;
use std::time::Duration;

use engineio::client::SendError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use super::errors::{AckError, EmitError};
use super::socket::{notify, AckSlot, Socket, SocketInner};
use crate::proto::{from_value, to_value, Packet, Value, RESERVED_EVENTS};

impl SocketInner {
    /// Sends an event (`data` = `[name, ...args]`) or buffers it while
    /// disconnected; registers `ack` under a fresh id, returned. A volatile
    /// event that cannot be sent now is dropped (`Ok(None)`).
    pub(crate) fn send_event(
        self: &Arc<Self>,
        data: Vec<Value>,
        ack: Option<AckSlot>,
        volatile: bool,
    ) -> Result<Option<u64>, EmitError> {
        let outgoing = self.outgoing_listeners();
        let mut packet = Packet::event(self.nsp.clone(), data);
        let mut st = self.state.lock();
        let connected = st.connected && self.manager.engine_open();
        if volatile && !connected {
            return Ok(None);
        }
        let id = ack.map(|slot| {
            let id = st.next_ack_id;
            st.next_ack_id += 1;
            st.acks.insert(id, slot);
            id
        });
        packet.id = id;
        let sent = connected
            && match self.manager.send_packet(&packet) {
                Ok(()) => true,
                Err(SendError::Full | SendError::Busy) => {
                    if let Some(id) = id {
                        st.acks.remove(&id);
                    }
                    return if volatile {
                        Ok(None)
                    } else {
                        Err(EmitError::Full)
                    };
                }
                // The connection just died: buffer for the reconnection.
                Err(SendError::Closed) => false,
            };
        if !sent {
            if volatile || st.send_buffer.len() >= self.config.send_buffer {
                if let Some(id) = id {
                    st.acks.remove(&id);
                }
                return if volatile {
                    Ok(None)
                } else {
                    Err(EmitError::Full)
                };
            }
            st.send_buffer.push_back(packet);
            return Ok(id);
        }
        drop(st);
        if !outgoing.is_empty() {
            notify(&outgoing, &self.handle(), &packet);
        }
        Ok(id)
    }
}

/// Removes a pending acknowledgement when its `emit_with_ack` future is
/// dropped before the answer.
struct AckGuard<'a> {
    socket: &'a SocketInner,
    id: Option<u64>,
}

impl Drop for AckGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.socket.forget_ack(id, false);
        }
    }
}

/// Emits with flags: [`Socket::timeout`] and [`Socket::volatile`] return
/// one.
#[derive(Debug, Clone)]
pub struct Emitter {
    socket: Socket,
    timeout: Option<Duration>,
    volatile: bool,
}

impl Emitter {
    /// Waits at most `timeout` for acknowledgements.
    pub fn timeout(mut self, timeout: Duration) -> Emitter {
        self.timeout = Some(timeout);
        self
    }

    /// Drops the event instead of buffering it when the socket is not
    /// connected.
    pub fn volatile(mut self) -> Emitter {
        self.volatile = true;
        self
    }

    fn frame(&self, event: &str, args: Vec<Value>) -> Result<Vec<Value>, EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::String(event.to_owned()));
        data.extend(args);
        Ok(data)
    }

    fn queued(&self) -> bool {
        self.socket.inner.config.retries.is_some() && !self.volatile
    }

    /// Emits an event with one argument (a tuple is one argument too; use
    /// [`Emitter::emit_args`] for several).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emit_args(event, vec![to_value(data)?])
    }

    /// Emits an event with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        let data = self.frame(event, args)?;
        let inner = &self.socket.inner;
        if self.queued() {
            inner.enqueue(data, None, self.timeout);
            return Ok(());
        }
        inner.send_event(data, None, self.volatile).map(|_| ())
    }

    /// Emits an event with one argument and waits for the server's
    /// acknowledgement, whose arguments it returns.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<Value>, AckError> {
        let value = to_value(data).map_err(EmitError::from)?;
        self.emit_with_ack_args(event, vec![value]).await
    }

    /// Like [`Emitter::emit_with_ack`], deserializing the acknowledgement's
    /// first argument.
    pub async fn emit_with_ack_typed<R: DeserializeOwned, T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<R, AckError> {
        let values = self.emit_with_ack(event, data).await?;
        from_value(values.into_iter().next().unwrap_or(Value::Null)).map_err(AckError::Deserialize)
    }

    /// Emits an event with any arguments and waits for the acknowledgement,
    /// at most the emitter's timeout, else the socket's `ack_timeout`, else
    /// until the socket disconnects.
    pub async fn emit_with_ack_args(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, AckError> {
        let data = self.frame(event, args)?;
        let inner = &self.socket.inner;
        let (tx, rx) = oneshot::channel();
        if self.queued() {
            inner.enqueue(data, Some(tx), self.timeout);
            return rx.await.unwrap_or(Err(AckError::Disconnected));
        }
        let Some(id) = inner.send_event(data, Some(AckSlot::User(tx)), self.volatile)? else {
            return Err(AckError::Disconnected);
        };
        let mut guard = AckGuard {
            socket: inner,
            id: Some(id),
        };
        let result = match self.timeout.or(inner.config.ack_timeout) {
            Some(limit) => match tokio::time::timeout(limit, rx).await {
                Ok(r) => r,
                Err(_) => {
                    // As the reference: a timed-out emit still buffered is
                    // not sent later.
                    inner.forget_ack(id, true);
                    guard.id = None;
                    return Err(AckError::Timeout);
                }
            },
            None => rx.await,
        };
        guard.id = None;
        result.unwrap_or(Err(AckError::Disconnected))
    }
}

impl Socket {
    fn emitter(&self) -> Emitter {
        Emitter {
            socket: self.clone(),
            timeout: None,
            volatile: false,
        }
    }

    /// An emitter whose acknowledgements wait at most `timeout`.
    pub fn timeout(&self, timeout: Duration) -> Emitter {
        self.emitter().timeout(timeout)
    }

    /// An emitter that drops events when the socket is not connected.
    pub fn volatile(&self) -> Emitter {
        self.emitter().volatile()
    }

    /// Emits an event with one argument; see [`Emitter::emit`].
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emitter().emit(event, data)
    }

    /// Emits an event with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.emitter().emit_args(event, args)
    }

    /// Emits a `message` event (the reference's `send`).
    pub fn send(&self, args: Vec<Value>) -> Result<(), EmitError> {
        self.emit_args("message", args)
    }

    /// Emits an event and waits for its acknowledgement; see
    /// [`Emitter::emit_with_ack_args`] for how long.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<Value>, AckError> {
        self.emitter().emit_with_ack(event, data).await
    }

    /// Emits an event and deserializes the acknowledgement's first argument.
    pub async fn emit_with_ack_typed<R: DeserializeOwned, T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<R, AckError> {
        self.emitter().emit_with_ack_typed(event, data).await
    }

    /// Emits an event with any arguments and waits for its acknowledgement.
    pub async fn emit_with_ack_args(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, AckError> {
        self.emitter().emit_with_ack_args(event, args).await
    }
}
