//! The transport of the classic `@socket.io/redis-adapter` protocol:
//! `PUBLISH` on `key#nsp#[room#]` and `key-request#nsp#`, answers on
//! `key-response#nsp#[uid#]`, the server count from `PUBSUB NUMSUB` on the
//! request channel. The codec is [`ClassicCodec`].

use std::sync::{Arc, Weak};

use futures_util::future::BoxFuture;

use super::connection::{Channels, RedisLink};
use super::endpoint::Endpoint;
use super::{RedisAdapterConfig, RedisAdapterError};
use crate::adapter::cluster::classic::{ClassicCodec, ClassicIncoming};
use crate::adapter::cluster::transport::{Protocol, Subscriber, Transport};
use crate::adapter::cluster::{
    ClusterMessage, ClusterResponse, DecodeError, Envelope, Frame, RedisCommand, ServerId,
};
use crate::adapter::Room;

const LABEL: &str = "Redis adapter";

/// One server's classic transport.
#[derive(Debug)]
pub(super) struct ClassicTransport {
    link: RedisLink,
    codec: ClassicCodec,
}

impl ClassicTransport {
    /// Connects with `config`'s channel names.
    pub(super) async fn connect(
        endpoint: &Endpoint,
        config: &RedisAdapterConfig,
    ) -> Result<ClassicTransport, RedisAdapterError> {
        let codec = ClassicCodec::new(config.key.clone())
            .publish_on_specific_response_channel(config.publish_on_specific_response_channel);
        let link = RedisLink::connect(endpoint, Arc::new(codec.clone()), false, LABEL).await?;
        Ok(ClassicTransport { link, codec })
    }

    /// The link's view of Redis outages.
    pub(super) fn outage(&self) -> Arc<super::outage::Outage> {
        self.link.outage()
    }
}

impl Channels for ClassicCodec {
    fn subscriptions(&self, nsp: &str, uid: &ServerId, _rooms: &[Room]) -> Vec<RedisCommand> {
        self.subscribe_commands(nsp, uid)
    }

    fn response_request_id<'p>(
        &self,
        nsp: &str,
        channel: &str,
        payload: &'p [u8],
    ) -> Option<std::borrow::Cow<'p, str>> {
        ClassicCodec::response_request_id(self, nsp, channel, payload)
    }

    fn inbound(
        &self,
        nsp: &str,
        channel: &str,
        payload: &[u8],
    ) -> Option<Result<Envelope<Frame>, DecodeError>> {
        self.channel_kind(nsp, channel)?;
        Some(
            self.decode(nsp, channel, payload)
                .map(|incoming| match incoming {
                    ClassicIncoming::Message(e) => Envelope {
                        uid: e.uid,
                        nsp: e.nsp,
                        body: Frame::Message(e.body),
                    },
                    ClassicIncoming::Response(e) => Envelope {
                        uid: e.uid,
                        nsp: e.nsp,
                        body: Frame::Response(e.body),
                    },
                }),
        )
    }
}

impl Transport for ClassicTransport {
    fn protocol(&self) -> Protocol {
        Protocol::Classic
    }

    fn label(&self) -> &'static str {
        LABEL
    }

    async fn publish(&self, envelope: Envelope<ClusterMessage>) -> Option<String> {
        match self.codec.encode_message(&envelope) {
            Ok(cmd) => {
                self.link.publish(&cmd).await;
            }
            Err(e) => {
                tracing::warn!(nsp = %envelope.nsp, error = %e, "{LABEL}: cannot encode message")
            }
        }
        None
    }

    async fn publish_response(&self, to: Option<ServerId>, envelope: Envelope<ClusterResponse>) {
        match self
            .codec
            .encode_response(&envelope.nsp, to.as_ref(), &envelope.body)
        {
            Ok(cmd) => {
                self.link.publish(&cmd).await;
            }
            Err(e) => {
                tracing::warn!(nsp = %envelope.nsp, error = %e, "{LABEL}: cannot encode response")
            }
        }
    }

    async fn server_count(&self, nsp: &str) -> Option<usize> {
        Some(
            self.link
                .numsub(nsp, &self.codec.server_count_command(nsp))
                .await,
        )
    }

    fn subscribe(&self, subscriber: Weak<dyn Subscriber>) {
        self.link.subscribe(subscriber);
    }

    fn unsubscribe(
        &self,
        subscriber: Weak<dyn Subscriber>,
        nsp: &str,
        uid: &ServerId,
        _rooms: &[Room],
    ) -> BoxFuture<'static, ()> {
        self.link
            .unsubscribe(subscriber, self.codec.unsubscribe_commands(nsp, uid))
    }
}
