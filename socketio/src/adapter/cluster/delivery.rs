//! The local part of broadcasts whose recovery offset comes from the broker
//! (a stream entry id): each goes out once its offset is known, and every
//! broadcast after it waits its turn, so local sockets get them in emit
//! order. Nothing blocks: the waiting happens on a task of the runtime,
//! which works the same on a current-thread runtime.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::adapter::{BroadcastOptions, LocalNamespace};
use crate::proto::Value;

/// How long a broadcast's local part waits for its offset.
pub(crate) const OFFSET_WAIT: Duration = Duration::from_secs(1);
/// How long broadcasts skip waiting for offsets after one did not come:
/// while the broker is away each would otherwise be held the whole wait.
pub(crate) const OFFSETS_BACKOFF: Duration = Duration::from_secs(5);

/// Until when broadcasts do not wait for offsets, shared by the adapters of
/// one server (they share the broker).
#[derive(Debug, Default)]
pub(crate) struct OffsetBackoff(Mutex<Option<Instant>>);

impl OffsetBackoff {
    /// Whether offsets are not coming lately.
    pub(crate) fn failing(&self) -> bool {
        self.0.lock().is_some_and(|until| Instant::now() < until)
    }

    fn failed(&self) {
        *self.0.lock() = Some(Instant::now() + OFFSETS_BACKOFF);
    }
}

/// The offset of a broadcast's local part.
pub(crate) enum Offset {
    /// Known now (`None`: the broadcast goes out without one).
    Known(Option<String>),
    /// Coming from the broker once the publish is done.
    Pending(oneshot::Receiver<Option<String>>),
}

struct Delivery {
    data: Vec<Value>,
    opts: BroadcastOptions,
    offset: Offset,
    deadline: tokio::time::Instant,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Delivery>,
    /// A drain task is delivering: set from the first queued delivery until
    /// the queue is empty again and its last delivery is done.
    draining: bool,
}

/// The local deliveries of one namespace's broadcasts, in emit order.
pub(crate) struct Deliveries {
    ns: Weak<dyn LocalNamespace>,
    backoff: Arc<OffsetBackoff>,
    runtime: tokio::runtime::Handle,
    label: &'static str,
    queue: Mutex<Queue>,
}

impl Deliveries {
    /// Deliveries to `ns`, waiting on `runtime`'s tasks.
    pub(crate) fn new(
        ns: Weak<dyn LocalNamespace>,
        backoff: Arc<OffsetBackoff>,
        runtime: tokio::runtime::Handle,
        label: &'static str,
    ) -> Deliveries {
        Deliveries {
            ns,
            backoff,
            runtime,
            label,
            queue: Mutex::new(Queue::default()),
        }
    }

    /// Delivers a broadcast through `local` now when its offset is known and
    /// nothing waits before it; otherwise queues it behind what waits.
    pub(crate) fn deliver(
        self: &Arc<Self>,
        data: Vec<Value>,
        opts: &BroadcastOptions,
        offset: Offset,
        local: &dyn LocalNamespace,
    ) {
        let mut queue = self.queue.lock();
        if let (Offset::Known(offset), false) = (&offset, queue.draining) {
            drop(queue);
            local.deliver(data, opts, offset.clone());
            return;
        }
        queue.items.push_back(Delivery {
            data,
            opts: opts.clone(),
            offset,
            deadline: tokio::time::Instant::now() + OFFSET_WAIT,
        });
        if !queue.draining {
            queue.draining = true;
            self.runtime.spawn(self.clone().drain());
        }
    }

    async fn drain(self: Arc<Self>) {
        loop {
            let next = {
                let mut queue = self.queue.lock();
                match queue.items.pop_front() {
                    Some(next) => next,
                    None => {
                        queue.draining = false;
                        return;
                    }
                }
            };
            let offset = self.resolve(next.offset, next.deadline).await;
            if let Some(ns) = self.ns.upgrade() {
                ns.deliver(next.data, &next.opts, offset);
            }
        }
    }

    /// The offset once known: within the wait, else none (and later
    /// broadcasts stop waiting for a while).
    async fn resolve(&self, offset: Offset, deadline: tokio::time::Instant) -> Option<String> {
        let mut reply = match offset {
            Offset::Known(offset) => return offset,
            Offset::Pending(reply) => reply,
        };
        if self.backoff.failing() {
            return reply.try_recv().ok().flatten();
        }
        match tokio::time::timeout_at(deadline, &mut reply).await {
            Ok(Ok(Some(offset))) => Some(offset),
            _ => {
                tracing::warn!(
                    "{}: no offset from the broker; packets go out without offsets for a while",
                    self.label
                );
                self.backoff.failed();
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{RemoteSocket, Room, ServerSideAck};
    use tokio::sync::mpsc;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, Option<String>)>>);

    impl LocalNamespace for Recorder {
        fn local_name(&self) -> &str {
            "/"
        }
        fn deliver(&self, data: Vec<Value>, _: &BroadcastOptions, offset: Option<String>) {
            let name = data[0].as_str().unwrap_or_default().to_owned();
            self.0.lock().push((name, offset));
        }
        fn deliver_with_ack(
            &self,
            _: Vec<Value>,
            _: &BroadcastOptions,
            _: Duration,
        ) -> (u64, mpsc::UnboundedReceiver<Vec<Value>>) {
            (0, mpsc::unbounded_channel().1)
        }
        fn apply_join(&self, _: &BroadcastOptions, _: &[Room]) {}
        fn apply_leave(&self, _: &BroadcastOptions, _: &[Room]) {}
        fn apply_disconnect(&self, _: &BroadcastOptions, _: bool) {}
        fn describe_sockets(&self, _: &BroadcastOptions) -> Vec<RemoteSocket> {
            Vec::new()
        }
        fn receive_server_side_emit(&self, _: Vec<Value>, _: Option<ServerSideAck>) {}
    }

    fn event(name: &str) -> Vec<Value> {
        vec![Value::from(name)]
    }

    #[tokio::test]
    async fn later_broadcasts_wait_behind_a_pending_offset() {
        let ns = Arc::new(Recorder::default());
        let weak: Weak<dyn LocalNamespace> = Arc::downgrade(&ns) as Weak<dyn LocalNamespace>;
        let d = Arc::new(Deliveries::new(
            weak,
            Arc::default(),
            tokio::runtime::Handle::current(),
            "test",
        ));
        let opts = BroadcastOptions::default();
        d.deliver(event("a"), &opts, Offset::Known(None), &*ns);
        let (tx, rx) = oneshot::channel();
        d.deliver(event("b"), &opts, Offset::Pending(rx), &*ns);
        d.deliver(event("c"), &opts, Offset::Known(None), &*ns);
        assert_eq!(ns.0.lock().len(), 1, "c waits behind b");
        tx.send(Some("1-0".into())).unwrap();
        tokio::time::timeout(Duration::from_secs(2), async {
            while ns.0.lock().len() < 3 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        assert_eq!(
            *ns.0.lock(),
            [
                ("a".to_owned(), None),
                ("b".to_owned(), Some("1-0".to_owned())),
                ("c".to_owned(), None)
            ]
        );
        d.deliver(event("d"), &opts, Offset::Known(None), &*ns);
        assert_eq!(ns.0.lock().len(), 4, "delivered at once when nothing waits");
    }

    #[tokio::test]
    async fn a_missing_offset_delivers_without_one_and_stops_the_waits() {
        let ns = Arc::new(Recorder::default());
        let weak: Weak<dyn LocalNamespace> = Arc::downgrade(&ns) as Weak<dyn LocalNamespace>;
        let backoff = Arc::new(OffsetBackoff::default());
        let d = Arc::new(Deliveries::new(
            weak,
            backoff.clone(),
            tokio::runtime::Handle::current(),
            "test",
        ));
        let opts = BroadcastOptions::default();
        let (_tx, rx) = oneshot::channel();
        d.deliver(event("a"), &opts, Offset::Pending(rx), &*ns);
        tokio::time::sleep(OFFSET_WAIT + Duration::from_millis(10)).await;
        assert_eq!(*ns.0.lock(), [("a".to_owned(), None)]);
        assert!(backoff.failing());
    }
}
