//! The sharded (`createShardedAdapter`) and Streams
//! (`@socket.io/redis-streams-adapter` 0.3) Redis adapters against a real
//! `redis-server`: two of our servers in one cluster, one of ours with an
//! npm `socket.io` 4.8 server on the official adapter, a Redis restart, and
//! (Streams) connection state recovery across servers. Streams with sharded
//! pub/sub (`useShardedPubSub`) gets the pub/sub-borne operations.
//!
//! Each test starts its own `redis-server` on a free loopback port (no
//! persistence) and kills it on drop. Without the binary the tests skip
//! loudly, unless `SOCKETIO_RS_REQUIRE_REDIS` is set, where they fail.

mod common;
mod redis_support;

use redis_support::*;

macro_rules! flavour_tests {
    ($flavour:ident, $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                redis_support::$name(Flavour::$flavour).await;
            }
        )*
    };
}

mod sharded {
    use super::*;
    flavour_tests!(
        Sharded,
        two_rust_servers_broadcast_rooms_and_except,
        two_rust_servers_join_leave_disconnect_and_fetch,
        two_rust_servers_server_side_emit_and_broadcast_acks,
        survives_a_redis_restart,
        mixed_cluster_with_node_redis_adapter,
        mixed_cluster_room_operations,
        malformed_cluster_messages_are_dropped,
    );
}

mod streams_sharded_pubsub {
    use super::*;
    flavour_tests!(
        StreamsSharded,
        two_rust_servers_broadcast_rooms_and_except,
        two_rust_servers_server_side_emit_and_broadcast_acks,
        mixed_cluster_with_node_redis_adapter,
    );
}

mod streams {
    use super::*;
    flavour_tests!(
        Streams,
        two_rust_servers_broadcast_rooms_and_except,
        two_rust_servers_join_leave_disconnect_and_fetch,
        two_rust_servers_server_side_emit_and_broadcast_acks,
        survives_a_redis_restart,
        mixed_cluster_with_node_redis_adapter,
        mixed_cluster_room_operations,
        malformed_cluster_messages_are_dropped,
    );

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn recovery_across_two_rust_servers() {
        let Some(redis) = Redis::start().await else {
            return;
        };
        let a = rust_server_with(&redis, Flavour::Streams, true).await;
        let b = rust_server_with(&redis, Flavour::Streams, true).await;
        wait_servers(&a.io, 2).await;
        let ans = a.io.of("/");
        roam(
            Peer::Rust(&a.io, a.url()),
            Peer::Rust(&b.io, b.url()),
            || ans.sockets().len(),
        )
        .await;
    }

    /// Offsets come from Redis without blocking a thread: a current-thread
    /// runtime, whose only thread also runs the Redis IO, recovers too.
    #[tokio::test]
    async fn recovery_on_a_current_thread_runtime() {
        let Some(redis) = Redis::start().await else {
            return;
        };
        let a = rust_server_with(&redis, Flavour::Streams, true).await;
        let b = rust_server_with(&redis, Flavour::Streams, true).await;
        wait_servers(&a.io, 2).await;
        let ans = a.io.of("/");
        roam(
            Peer::Rust(&a.io, a.url()),
            Peer::Rust(&b.io, b.url()),
            || ans.sockets().len(),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn recovery_from_rust_to_node_and_back() {
        let Some(redis) = Redis::start().await else {
            return;
        };
        let rust = rust_server_with(&redis, Flavour::Streams, true).await;
        let (mut node, node_url) =
            node_server(&redis, Flavour::Streams, Some(RECOVERY.as_millis() as u64)).await;
        wait_servers(&rust.io, 2).await;
        let ns = rust.io.of("/");
        // Rust → Node.
        roam(
            Peer::Rust(&rust.io, rust.url()),
            Peer::Node(&mut node, node_url.clone()),
            || ns.sockets().len(),
        )
        .await;
        node.expect("recovered on Node", |v| v["event"] == "recovered")
            .await;
        // Node → Rust.
        roam(
            Peer::Node(&mut node, node_url),
            Peer::Rust(&rust.io, rust.url()),
            || 0,
        )
        .await;
        node.finish().await;
    }
}
