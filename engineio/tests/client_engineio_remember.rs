//! `remember_upgrade`, in a test binary of its own: the remembered WebSocket
//! success is process-wide, as in the reference client.

mod client_support;

use std::time::Duration;

use client_support::{bounded, NodeServer, WAIT};
use engineio::client::{Client, ClientConfig, ClientEvent, TransportType};
use serde_json::json;

#[tokio::test]
async fn remember_upgrade_opens_with_websocket() {
    bounded(Duration::from_secs(15), async {
        let server = NodeServer::start("server-eio.mjs", json!({})).await;
        let remember = ClientConfig::default().remember_upgrade(true);
        // Nothing remembered yet: polling first, then the upgrade.
        let (client, mut events) = Client::connect(&server.url(), remember.clone())
            .await
            .expect("connect");
        assert_eq!(client.transport(), TransportType::Polling);
        let ev = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("upgrade");
        assert_eq!(ev, Some(ClientEvent::Upgrade(TransportType::Websocket)));
        client.close();

        let (client, _events) = Client::connect(&server.url(), remember)
            .await
            .expect("connect");
        assert_eq!(client.transport(), TransportType::Websocket);
        assert!(client.handshake().upgrades.is_empty());

        // Without the option, polling still comes first.
        let (client, _events) = Client::connect(&server.url(), ClientConfig::default())
            .await
            .expect("connect");
        assert_eq!(client.transport(), TransportType::Polling);
    })
    .await;
}
