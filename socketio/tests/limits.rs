//! Socket.IO limits at and past their edges.

mod common;

use common::{config, serve, ws_join, ws_open, ws_send, ws_text};
use socketio::server::JoinError;
use socketio::SocketIo;

#[tokio::test]
async fn namespaces_per_connection_are_capped() {
    let io = SocketIo::new(config().max_namespaces_per_connection(2));
    io.of("/a");
    io.of("/b");
    let server = serve(io).await;
    let (mut ws, _) = ws_open(server.addr).await;
    ws_join(&mut ws, "/").await;
    ws_join(&mut ws, "/a").await;
    ws_send(&mut ws, "40/b,").await;
    assert_eq!(
        ws_text(&mut ws).await,
        r#"44/b,{"message":"Too many namespaces"}"#
    );
    // The connection stays usable: leaving one makes room for another.
    ws_send(&mut ws, "41/a,").await;
    ws_join(&mut ws, "/b").await;
}

#[tokio::test]
async fn rooms_per_socket_are_capped() {
    let io = SocketIo::new(config().max_rooms_per_socket(3));
    let (tx, mut results) = common::record();
    io.on_connection(move |s| {
        let first = s.try_join(["r1", "r2"]);
        let rejoin = s.try_join("r1");
        let third = s.try_join("r3");
        let over = s.try_join(["r4", "r5"]);
        s.join("r6");
        let mut rooms: Vec<String> = s.rooms().iter().map(|r| r.to_string()).collect();
        rooms.sort();
        let _ = tx.send((first, rejoin, third, over, rooms, s.id().to_string()));
    });
    let server = serve(io).await;
    let (mut ws, _) = ws_open(server.addr).await;
    ws_join(&mut ws, "/").await;
    let (first, rejoin, third, over, rooms, id) = results.next().await;
    assert_eq!(first, Ok(()));
    assert_eq!(rejoin, Ok(()), "joining a room again costs nothing");
    assert_eq!(third, Ok(()));
    assert_eq!(over, Err(JoinError::TooManyRooms { max: 3 }));
    let mut expected = vec!["r1".to_owned(), "r2".into(), "r3".into(), id];
    expected.sort();
    assert_eq!(rooms, expected, "a refused join joins nothing");
}
