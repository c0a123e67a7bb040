//! The Redis adapter (classic `@socket.io/redis-adapter` protocol) against a
//! real `redis-server`: two of our servers in one cluster, then one of ours
//! with an npm `socket.io` 4.8 server running the official adapter.
//!
//! Each test starts its own `redis-server` on a free loopback port (no
//! persistence) and kills it on drop. Without the binary the tests skip
//! loudly, unless `SOCKETIO_RS_REQUIRE_REDIS` is set, where they fail.

mod common;
mod redis_support;

use redis_support::Flavour;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_rust_servers_broadcast_rooms_and_except() {
    redis_support::two_rust_servers_broadcast_rooms_and_except(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_rust_servers_join_leave_disconnect_and_fetch() {
    redis_support::two_rust_servers_join_leave_disconnect_and_fetch(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_rust_servers_server_side_emit_and_broadcast_acks() {
    redis_support::two_rust_servers_server_side_emit_and_broadcast_acks(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn survives_a_redis_restart() {
    redis_support::survives_a_redis_restart(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_cluster_with_node_redis_adapter() {
    redis_support::mixed_cluster_with_node_redis_adapter(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_cluster_room_operations() {
    redis_support::mixed_cluster_room_operations(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_cluster_messages_are_dropped() {
    redis_support::malformed_cluster_messages_are_dropped(Flavour::Classic).await;
}
