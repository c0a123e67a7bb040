//! The `retries` queue: events go out one at a time, each until the server
//! acknowledges it or its tries run out (the reference's `_addToQueue` /
//! `_drainQueue`).

use std::sync::Arc;
use std::time::Duration;

use super::errors::AckError;
use super::socket::{AckReply, AckSlot, SocketInner};
use crate::proto::Value;

/// One queued event.
pub(crate) struct Queued {
    seq: u64,
    data: Vec<Value>,
    tries: u32,
    pending: bool,
    reply: Option<AckReply>,
    timeout: Option<Duration>,
}

impl SocketInner {
    /// Queues an event (`data` = `[name, ...args]`); `reply` gets the
    /// acknowledgement or the final error.
    pub(crate) fn enqueue(
        self: &Arc<Self>,
        data: Vec<Value>,
        reply: Option<AckReply>,
        timeout: Option<Duration>,
    ) {
        {
            let mut st = self.state.lock();
            let seq = st.queue_seq;
            st.queue_seq += 1;
            st.queue.push_back(Queued {
                seq,
                data,
                tries: 0,
                pending: false,
                reply,
                timeout,
            });
        }
        self.drain_queue(false);
    }

    /// Sends the head of the queue unless it is already out (`force` sends
    /// it again, on reconnect).
    pub(crate) fn drain_queue(self: &Arc<Self>, force: bool) {
        let (data, seq, timeout) = {
            let mut st = self.state.lock();
            if !st.connected {
                return;
            }
            let Some(head) = st.queue.front_mut() else {
                return;
            };
            if head.pending && !force {
                return;
            }
            head.pending = true;
            head.tries = head.tries.saturating_add(1);
            (head.data.clone(), head.seq, head.timeout)
        };
        let timeout = timeout.or(self.config.ack_timeout);
        match self.send_event(data, Some(AckSlot::Queue(seq)), false) {
            Ok(Some(id)) => {
                if let Some(limit) = timeout {
                    let socket = Arc::downgrade(self);
                    tokio::spawn(async move {
                        tokio::time::sleep(limit).await;
                        if let Some(socket) = socket.upgrade() {
                            socket.on_ack_timeout(id);
                        }
                    });
                }
            }
            Ok(None) => {}
            Err(e) => {
                // The connection's buffer is full: try again with the next
                // event or acknowledgement.
                tracing::debug!(error = %e, "queued emit deferred");
                if let Some(head) = self.state.lock().queue.front_mut() {
                    head.pending = false;
                }
            }
        }
    }

    /// The queued event `seq` was acknowledged, or its try failed.
    pub(crate) fn on_queue_result(
        self: &Arc<Self>,
        seq: u64,
        result: Result<Vec<Value>, AckError>,
    ) {
        let retries = self.config.retries.unwrap_or(0);
        let reply = {
            let mut st = self.state.lock();
            let Some(head) = st.queue.front_mut() else {
                return;
            };
            if head.seq != seq {
                return;
            }
            head.pending = false;
            let done = result.is_ok() || head.tries > retries;
            if !done {
                None
            } else {
                st.queue.pop_front().map(|q| q.reply)
            }
        };
        if let Some(Some(tx)) = reply {
            let _ = tx.send(result);
        }
        self.drain_queue(false);
    }

    /// An acknowledgement's timer ran out.
    pub(crate) fn on_ack_timeout(self: &Arc<Self>, id: u64) {
        let slot = {
            let mut st = self.state.lock();
            let slot = st.acks.remove(&id);
            if slot.is_some() {
                st.send_buffer.retain(|p| p.id != Some(id));
            }
            slot
        };
        match slot {
            Some(AckSlot::Queue(seq)) => self.on_queue_result(seq, Err(AckError::Timeout)),
            Some(AckSlot::User(tx)) => {
                let _ = tx.send(Err(AckError::Timeout));
            }
            None => {}
        }
    }
}
