//! The Rust Engine.IO client against our own server.

mod client_support;

use std::sync::Arc;
use std::time::Duration;

use client_support::{bounded, WAIT};
use engineio::client::{Client, ClientConfig, ClientEvent, CloseReason, TransportType};
use engineio::server::DisconnectReason;
use engineio::{EngineIo, Handler, Message, ServerConfig, Socket};

struct Echo;

impl Handler for Echo {
    type Data = ();
    fn on_connect(&self, _socket: Arc<Socket<()>>) {}
    fn on_message(&self, socket: &Arc<Socket<()>>, msg: Message) {
        if msg == Message::Text("cmd:close".into()) {
            socket.close();
        } else {
            let _ = socket.send(msg);
        }
    }
    fn on_disconnect(&self, _socket: &Arc<Socket<()>>, _reason: DisconnectReason) {}
}

async fn recv(events: &mut tokio::sync::mpsc::Receiver<ClientEvent>) -> ClientEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("event in time")
        .expect("events open")
}

#[tokio::test]
async fn echo_upgrade_and_close_with_our_server() {
    bounded(Duration::from_secs(15), async {
        let config = ServerConfig::default()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(200));
        let server = EngineIo::new(config, Echo);
        let listener = server.listen("127.0.0.1:0").await.expect("listen");
        let url = format!("http://{}", listener.local_addr());

        let (client, mut events) = Client::connect(&url, ClientConfig::default())
            .await
            .expect("connect");
        assert_eq!(client.transport(), TransportType::Polling);
        client.send(Message::Text("one".into())).expect("send");
        client
            .send(Message::Binary(bytes::Bytes::from_static(&[9, 8])))
            .expect("send");
        let mut got = Vec::new();
        while got.len() < 2 {
            match recv(&mut events).await {
                ClientEvent::Message(m) => got.push(m),
                ClientEvent::Upgrade(t) => assert_eq!(t, TransportType::Websocket),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got[0], Message::Text("one".into()));
        assert_eq!(got[1], Message::Binary(bytes::Bytes::from_static(&[9, 8])));
        // Survives heartbeats and ends up on WebSocket.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(client.transport(), TransportType::Websocket);
        client.send(Message::Text("two".into())).expect("send");
        loop {
            match recv(&mut events).await {
                ClientEvent::Message(m) => {
                    assert_eq!(m, Message::Text("two".into()));
                    break;
                }
                ClientEvent::Upgrade(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        client
            .send(Message::Text("cmd:close".into()))
            .expect("send");
        assert_eq!(
            recv(&mut events).await,
            ClientEvent::Close(CloseReason::TransportClose)
        );

        let ws_only = ClientConfig::default().transports(vec![TransportType::Websocket]);
        let (client, mut events) = Client::connect(&url, ws_only).await.expect("connect");
        client.send(Message::Text("three".into())).expect("send");
        assert_eq!(
            recv(&mut events).await,
            ClientEvent::Message(Message::Text("three".into()))
        );
        client.close();
        assert_eq!(
            recv(&mut events).await,
            ClientEvent::Close(CloseReason::ForcedClose)
        );
        server.close();
    })
    .await;
}
