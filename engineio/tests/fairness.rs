//! A connection flooding the server does not keep the others waiting: it
//! handles a bounded number of packets, then lets the next connection run.
//! Counted in packets handled, not in time, on a one-thread runtime where
//! the server runs only when the test waits.

mod common;

use common::{start, ws_session, Event};
use engineio::ServerConfig;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The packets a connection handles per turn (`ws::PACKETS_PER_TURN`).
const PER_TURN: usize = 32;

#[tokio::test(flavor = "current_thread")]
async fn a_flooding_connection_lets_another_one_through_within_a_turn() {
    let mut server = start(ServerConfig::default()).await;
    let (mut flooder, flood_sid) = ws_session(server.addr).await;
    server.events.connected().await;
    let (mut prober, probe_sid) = ws_session(server.addr).await;
    server.events.connected().await;

    // The whole flood, then the probe, reach the server's sockets before it
    // runs again: the test task does not wait in between (loopback takes a
    // few dozen KiB at once).
    const FLOOD: usize = 2000;
    for i in 0..FLOOD {
        flooder
            .feed(WsMessage::text(format!("4f{i}")))
            .await
            .expect("feed");
    }
    flooder.flush().await.expect("flood");
    prober.send(WsMessage::text("4probe")).await.expect("probe");

    let mut before = 0;
    loop {
        match server.events.next().await {
            Event::Message { sid, .. } if sid == probe_sid => break,
            Event::Message { sid, .. } if sid == flood_sid => before += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    // The flooder ran at most one turn before the probe's connection got
    // its own (none if the probe's was first in line). Without the budget
    // it handles all it has read, the whole flood here.
    assert!(
        before <= PER_TURN,
        "{before} of {FLOOD} flood packets handled before the probe"
    );
}
