/* The Redis emitter of the C API (sio_emitter_*): bad arguments and an
 * unreachable Redis fail with their codes; and, when SIO_REDIS_URL names a
 * running redis-server, an emitter that is not a server reaches the client
 * of a server on the classic Redis adapter: rooms, except, binary,
 * namespaces, socketsJoin / socketsLeave, serverSideEmit and
 * disconnectSockets.
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include "test_util.h"

#define KEY "c-emitter"

typedef struct {
    atomic_int connections, side_events;
    char side_json[128];
} srv_state;

typedef struct {
    atomic_int done, status, news, disconnected;
    char json[256];
    size_t n_bins;
    unsigned char bin[8];
    size_t bin_len;
    char names[512];
    char reason[64];
} cli_state;

static void on_connection(void *user_data, const sio_socket *s) {
    srv_state *st = user_data;
    CHECK_OK(sio_socket_join(s, "lobby"));
    atomic_fetch_add(&st->connections, 1);
}

static void on_side_event(void *user_data, const char *event, const sio_payload *args,
                          sio_server_side_ack *ack) {
    srv_state *st = user_data;
    CHECK(strcmp(event, "note") == 0);
    CHECK(ack == NULL);
    snprintf(st->side_json, sizeof st->side_json, "%s", args->json);
    atomic_fetch_add(&st->side_events, 1);
}

/* Every event: its name appended to `names`, the last one's payload kept. */
static void on_any(void *user_data, const char *event, const sio_payload *args) {
    cli_state *st = user_data;
    size_t len = strlen(st->names);
    snprintf(st->names + len, sizeof st->names - len, "%s%s", len ? "," : "", event);
    snprintf(st->json, sizeof st->json, "%s", args->json);
    st->n_bins = args->n_bins;
    if (args->n_bins == 1 && args->bins[0].len <= sizeof st->bin) {
        memcpy(st->bin, args->bins[0].data, args->bins[0].len);
        st->bin_len = args->bins[0].len;
    }
    atomic_fetch_add(&st->news, 1);
}

static void on_disconnect(void *user_data, const char *reason) {
    cli_state *st = user_data;
    snprintf(st->reason, sizeof st->reason, "%s", reason);
    atomic_store(&st->disconnected, 1);
}

static void cli_done(void *user_data, int status, const char *error, const sio_payload *args) {
    cli_state *st = user_data;
    (void)error;
    (void)args;
    atomic_store(&st->status, status);
    atomic_store(&st->done, 1);
}

static void bad_arguments(void) {
    printf("-- emitter arguments and an unreachable Redis\n");
    fflush(stdout);
    sio_emitter *e = NULL;
    CHECK_ERR(sio_emitter_new(NULL, NULL, &e), SIO_ERR_INVALID_ARGUMENT, "url");
    CHECK_ERR(sio_emitter_new("redis://127.0.0.1:1", NULL, NULL), SIO_ERR_INVALID_ARGUMENT, "out");
    CHECK_ERR(sio_emitter_new("not a url", NULL, &e), SIO_ERR_IO, "Redis");
    /* Nobody listens on port 1. */
    CHECK_ERR(sio_emitter_new("redis://127.0.0.1:1", NULL, &e), SIO_ERR_IO, "Redis");
    CHECK(e == NULL);
    CHECK_ERR(sio_emitter_emit(NULL, "x", NULL, NULL, 0), SIO_ERR_INVALID_ARGUMENT, "emitter");
    CHECK_ERR(sio_emitter_to(NULL, "r"), SIO_ERR_INVALID_ARGUMENT, "emitter");
    sio_emitter_free(NULL);
}

/* Emits a marker and waits until the client has it: the emitter publishes
 * in order, so the client has everything sent before it. */
static int until_marker(const sio_emitter *root, cli_state *c, const char *marker) {
    CHECK_OK(sio_emitter_emit(root, marker, NULL, NULL, 0));
    long end = now_ms() + 10000;
    while (now_ms() < end) {
        const char *at = strstr(c->names, marker);
        if (at && at[strlen(marker)] == '\0') return 1;
        sleep_ms(10);
    }
    return 0;
}

static void with_redis(const char *redis_url) {
    printf("-- an emitter and a server on the classic Redis adapter\n");
    fflush(stdout);
    srv_state s;
    memset(&s, 0, sizeof s);
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    CHECK_OK(sio_server_options_set_redis(opts, redis_url, "classic", KEY));
    sio_server *server = NULL;
    CHECK_OK(sio_server_new(opts, &server));
    sio_server_options_free(opts);
    if (!server) return;
    sio_namespace *root_ns = NULL;
    CHECK_OK(sio_server_of(server, "/", &root_ns));
    CHECK_OK(sio_namespace_on_connection(root_ns, on_connection, &s, NULL));
    sio_namespace_free(root_ns);
    CHECK_OK(sio_server_on_server_side_emit(server, "note", on_side_event, &s, NULL));
    CHECK_OK(sio_server_listen(server, "127.0.0.1:0"));
    uint16_t port = 0;
    CHECK_OK(sio_server_port(server, &port));

    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    cli_state c;
    memset(&c, 0, sizeof c);
    sio_client_options *copts = NULL;
    CHECK_OK(sio_client_options_new(&copts));
    CHECK_OK(sio_client_options_set_reconnection(copts, false));
    sio_client *client = NULL;
    CHECK_OK(sio_client_new(url, copts, &client));
    sio_client_options_free(copts);
    CHECK_OK(sio_client_on_any(client, on_any, &c, NULL));
    CHECK_OK(sio_client_on_disconnect(client, on_disconnect, &c, NULL));
    CHECK_OK(sio_client_connect(client, cli_done, &c, NULL));
    CHECK(wait_flag(NULL, &c.done, 10000));
    CHECK(atomic_load(&c.status) == SIO_OK);
    CHECK(wait_count(NULL, &s.connections, 1, 5000));

    sio_emitter *root = NULL;
    CHECK_OK(sio_emitter_new(redis_url, KEY, &root));
    if (!root) {
        sio_client_free(client);
        sio_server_free(server);
        return;
    }

    /* To a room, with a buffer. */
    sio_emitter *lobby = NULL;
    CHECK_OK(sio_emitter_of(root, "/", &lobby));
    CHECK_OK(sio_emitter_to(lobby, "lobby"));
    CHECK_OK(sio_emitter_compress(lobby, true));
    const unsigned char bytes[3] = {1, 2, 3};
    sio_buf buf = {bytes, sizeof bytes};
    CHECK_OK(sio_emitter_emit(lobby, "news", "[\"hi\",{\"_placeholder\":true,\"num\":0}]", &buf, 1));
    CHECK(wait_count(NULL, &c.news, 1, 10000));
    CHECK(strcmp(c.names, "news") == 0);
    CHECK(strcmp(c.json, "[\"hi\",{\"_placeholder\":true,\"num\":0}]") == 0);
    CHECK(c.n_bins == 1 && c.bin_len == 3 && memcmp(c.bin, bytes, 3) == 0);
    CHECK_ERR(sio_emitter_emit(lobby, "disconnect", NULL, NULL, 0), SIO_ERR_INVALID_ARGUMENT, "reserved");
    CHECK_ERR(sio_emitter_emit(lobby, "news", "{}", NULL, 0), SIO_ERR_INVALID_ARGUMENT, "");

    /* Except the lobby, another room, another namespace: none reaches the
     * client; then socketsJoin puts it in "vip", which then does. */
    sio_emitter *others = NULL;
    CHECK_OK(sio_emitter_of(root, "/", &others));
    CHECK_OK(sio_emitter_except(others, "lobby"));
    CHECK_OK(sio_emitter_volatile(others));
    CHECK_OK(sio_emitter_emit(others, "not-lobby", "[1]", NULL, 0));
    sio_emitter *vip = NULL;
    CHECK_OK(sio_emitter_of(root, "", &vip));
    CHECK_OK(sio_emitter_to(vip, "vip"));
    CHECK_OK(sio_emitter_emit(vip, "vip-early", "[2]", NULL, 0));
    sio_emitter *admin = NULL;
    CHECK_OK(sio_emitter_of(root, "admin", &admin));
    CHECK_OK(sio_emitter_emit(admin, "admin", "[3]", NULL, 0));
    CHECK_OK(sio_emitter_sockets_join(lobby, "vip"));
    CHECK_OK(sio_emitter_emit(vip, "vip", "[4]", NULL, 0));
    CHECK(until_marker(root, &c, "end1"));
    CHECK(strcmp(c.names, "news,vip,end1") == 0);
    /* socketsLeave: out of "vip" again. */
    CHECK_OK(sio_emitter_sockets_leave(root, "vip"));
    CHECK_OK(sio_emitter_emit(vip, "vip-late", "[5]", NULL, 0));
    CHECK(until_marker(root, &c, "end2"));
    CHECK(strcmp(c.names, "news,vip,end1,end2") == 0);

    /* serverSideEmit reaches the server's handler. */
    CHECK_OK(sio_emitter_server_side_emit(root, "note", "[\"from C\",7]", NULL, 0));
    CHECK(wait_count(NULL, &s.side_events, 1, 10000));
    CHECK(strcmp(s.side_json, "[\"from C\",7]") == 0);

    /* disconnectSockets of the lobby. */
    CHECK_OK(sio_emitter_disconnect_sockets(lobby, false));
    CHECK(wait_flag(NULL, &c.disconnected, 10000));
    CHECK(strcmp(c.reason, "io server disconnect") == 0);

    sio_emitter_free(admin);
    sio_emitter_free(vip);
    sio_emitter_free(others);
    sio_emitter_free(lobby);
    sio_emitter_free(root);
    sio_client_free(client);
    sio_server_free(server);
}

int main(void) {
    bad_arguments();
    const char *redis = getenv("SIO_REDIS_URL");
    if (redis && redis[0]) {
        with_redis(redis);
    } else {
        printf("-- an emitter and a server: skipped (SIO_REDIS_URL unset)\n");
    }
    return report("test_emitter");
}
