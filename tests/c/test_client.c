/* The C API's client half against a C server in the same process:
 * connect, events and acks both ways with buffers, timeouts, a refusal with
 * data, disconnect and connect again, reconnection events, and a client
 * freed inside its own callback. The server's callbacks run on a runtime of
 * its own; the first client's through an event queue pumped here.
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include "test_util.h"

/* ------------------------------------------------------------------------ */
/* The server.                                                              */

typedef struct {
    atomic_int greet_acked, disconnects, disconnectings;
    char last_reason[64];
} srv_state;

static void on_greet_answer(void *user_data, int status, const char *error, const sio_payload *args) {
    srv_state *st = user_data;
    if (status != SIO_OK) {
        /* The client may leave before answering (the tests wait for the
         * answers they need); then the reason is given. */
        CHECK(error != NULL && strcmp(args->json, "[]") == 0);
        return;
    }
    CHECK(error == NULL);
    CHECK(strcmp(args->json, "[\"hello back\"]") == 0);
    atomic_fetch_add(&st->greet_acked, 1);
}

static void srv_event(void *user_data, const sio_socket *s, const char *event, const sio_payload *args,
                      sio_ack *ack) {
    (void)user_data;
    if (strcmp(event, "echo") == 0) {
        CHECK_OK(sio_ack_send(ack, args->json, args->bins, args->n_bins));
    } else if (strcmp(event, "ping") == 0) {
        CHECK_OK(sio_socket_emit(s, "pong", args->json, args->bins, args->n_bins));
        sio_ack_free(ack);
    } else {
        sio_ack_free(ack); /* "noack": never answered */
    }
}

static void srv_disconnect(void *user_data, const sio_socket *s, const char *reason) {
    (void)s;
    srv_state *st = user_data;
    snprintf(st->last_reason, sizeof st->last_reason, "%s", reason);
    atomic_fetch_add(&st->disconnects, 1);
}

/* Heard before the disconnect handler, with the same reason. */
static void srv_disconnecting(void *user_data, const sio_socket *s, const char *reason) {
    srv_state *st = user_data;
    CHECK(s != NULL && reason != NULL && reason[0] != '\0');
    atomic_fetch_add(&st->disconnectings, 1);
}

static void srv_connection(void *user_data, const sio_socket *s) {
    CHECK_OK(sio_socket_on(s, "echo", srv_event, user_data, NULL));
    CHECK_OK(sio_socket_on(s, "ping", srv_event, user_data, NULL));
    CHECK_OK(sio_socket_on(s, "noack", srv_event, user_data, NULL));
    CHECK_OK(sio_socket_on_disconnect(s, srv_disconnect, user_data, NULL));
    CHECK_OK(sio_socket_on_disconnecting(s, srv_disconnecting, user_data, NULL));
    CHECK_OK(sio_socket_emit_with_ack(s, "greet", "[\"hi\"]", NULL, 0, 2000, on_greet_answer, user_data, NULL));
}

static void srv_refuse(void *user_data, const sio_socket *s, sio_next *next) {
    (void)user_data;
    (void)s;
    CHECK_OK(sio_next_refuse(next, "forbidden", "{\"code\":403}"));
}

static sio_server *start_server(sio_runtime *rt, srv_state *st, const char *addr) {
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    CHECK_OK(sio_server_options_set_runtime(opts, rt));
    sio_server *server = NULL;
    CHECK_OK(sio_server_new(opts, &server));
    sio_server_options_free(opts);
    sio_namespace *ns = NULL;
    CHECK_OK(sio_server_of(server, "/", &ns));
    CHECK_OK(sio_namespace_on_connection(ns, srv_connection, st, NULL));
    sio_namespace_free(ns);
    CHECK_OK(sio_server_of(server, "/private", &ns));
    CHECK_OK(sio_namespace_use(ns, srv_refuse, NULL, NULL));
    sio_namespace_free(ns);
    /* The port of a server just freed may take a moment to be released. */
    long end = now_ms() + 3000;
    int rc = sio_server_listen(server, addr);
    while (rc == SIO_ERR_IO && now_ms() < end) {
        sleep_ms(20);
        rc = sio_server_listen(server, addr);
    }
    CHECK_OK(rc);
    return server;
}

static void server_url(const sio_server *server, char *url, size_t size) {
    uint16_t port = 0;
    CHECK_OK(sio_server_port(server, &port));
    snprintf(url, size, "http://127.0.0.1:%u", port);
}

/* ------------------------------------------------------------------------ */
/* The clients.                                                             */

typedef struct {
    atomic_int connects, disconnects, pongs, any, done, done_status, freed;
    atomic_int attempts, errors, reconnected, failed;
    char reason[64];
    char error[128];
    char data[128];
    char reply[128];
    size_t reply_bins;
} cli_state;

static void cli_greet(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)user_data;
    CHECK(strcmp(event, "greet") == 0);
    CHECK(strcmp(args->json, "[\"hi\"]") == 0);
    CHECK(ack != NULL);
    CHECK_OK(sio_ack_send(ack, "[\"hello back\"]", NULL, 0));
}

static void cli_pong(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    cli_state *st = user_data;
    (void)event;
    CHECK(ack == NULL);
    CHECK(args->n_bins == 1 && args->bins[0].len == 2 && args->bins[0].data[1] == 0xff);
    atomic_fetch_add(&st->pongs, 1);
}

static void cli_any(void *user_data, const char *event, const sio_payload *args) {
    cli_state *st = user_data;
    CHECK(event[0] != 0 && args->json[0] == '[');
    atomic_fetch_add(&st->any, 1);
}

static void cli_connect(void *user_data) {
    atomic_fetch_add(&((cli_state *)user_data)->connects, 1);
}

static void cli_disconnect(void *user_data, const char *reason) {
    cli_state *st = user_data;
    snprintf(st->reason, sizeof st->reason, "%s", reason);
    atomic_fetch_add(&st->disconnects, 1);
}

static void cli_done(void *user_data, int status, const char *error, const sio_payload *args) {
    cli_state *st = user_data;
    snprintf(st->error, sizeof st->error, "%s", error ? error : "");
    snprintf(st->data, sizeof st->data, "%s", args->json);
    atomic_store(&st->done_status, status);
    atomic_store(&st->done, 1);
}

static void cli_reply(void *user_data, int status, const char *error, const sio_payload *args) {
    cli_state *st = user_data;
    snprintf(st->error, sizeof st->error, "%s", error ? error : "");
    snprintf(st->reply, sizeof st->reply, "%s", args->json);
    st->reply_bins = args->n_bins;
    if (args->n_bins == 1) CHECK(args->bins[0].len == 3 && args->bins[0].data[0] == 'a');
    atomic_store(&st->done_status, status);
    atomic_store(&st->done, 1);
}

static void cli_connect_error(void *user_data, const char *message, const sio_payload *data) {
    cli_state *st = user_data;
    CHECK(strcmp(message, "forbidden") == 0);
    CHECK(strcmp(data->json, "[{\"code\":403}]") == 0);
    atomic_fetch_add(&st->errors, 1);
}

static void cli_reconnect(void *user_data, int kind, uint32_t attempt, const char *error) {
    cli_state *st = user_data;
    switch (kind) {
    case SIO_RECONNECT_ATTEMPT:
        CHECK(attempt >= 1 && error == NULL);
        atomic_fetch_add(&st->attempts, 1);
        break;
    case SIO_RECONNECT_ERROR:
        CHECK(error != NULL && strlen(error) > 0);
        atomic_fetch_add(&st->errors, 1);
        break;
    case SIO_RECONNECT_SUCCESS:
        CHECK(attempt >= 1);
        atomic_fetch_add(&st->reconnected, 1);
        break;
    case SIO_RECONNECT_FAILED:
        atomic_fetch_add(&st->failed, 1);
        break;
    default:
        CHECK(!"unknown reconnect kind");
    }
}

static void reset_done(cli_state *st) {
    atomic_store(&st->done, 0);
    atomic_store(&st->done_status, 99);
}

/* Events, acks both ways, timeouts, disconnect and connect again: client
 * callbacks through an event queue pumped on this thread. */
static void conversation(const char *url, srv_state *srv) {
    printf("-- C client, callbacks through an event queue\n");
    cli_state st;
    memset(&st, 0, sizeof st);
    sio_queue *q = NULL;
    CHECK_OK(sio_queue_new(&q));
    sio_client_options *opts = NULL;
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_OK(sio_client_options_set_queue(opts, q));
    CHECK_OK(sio_client_options_set_reconnection(opts, false));
    CHECK_OK(sio_client_options_set_auth(opts, "{\"user\":\"c\"}"));
    CHECK_OK(sio_client_options_add_query(opts, "from", "c"));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, opts, &c));
    sio_client_options_free(opts);

    CHECK_OK(sio_client_on(c, "greet", cli_greet, &st, NULL));
    CHECK_OK(sio_client_on(c, "pong", cli_pong, &st, NULL));
    CHECK_OK(sio_client_on_any(c, cli_any, &st, NULL));
    CHECK_OK(sio_client_on_connect(c, cli_connect, &st, NULL));
    CHECK_OK(sio_client_on_disconnect(c, cli_disconnect, &st, NULL));

    reset_done(&st);
    CHECK_OK(sio_client_connect(c, cli_done, &st, NULL));
    CHECK(wait_flag(q, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_OK);
    CHECK(sio_client_connected(c));
    char *id = NULL;
    CHECK_OK(sio_client_id(c, &id));
    CHECK(id && strlen(id) == 20);
    sio_string_free(id);
    /* The greet's handler (which acknowledges it) runs when `q` is pumped:
     * pump while waiting, it may arrive after the connection's completion. */
    CHECK(wait_count(q, &srv->greet_acked, 1, 10000));

    /* Ack with a buffer, there and back. */
    reset_done(&st);
    sio_buf abc = {(const uint8_t *)"abc", 3};
    CHECK_OK(sio_client_emit_with_ack(c, "echo", "[\"x\"," SIO_BIN(0) "]", &abc, 1, 2000, cli_reply, &st, NULL));
    CHECK(wait_flag(q, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_OK);
    CHECK(strcmp(st.reply, "[\"x\"," SIO_BIN(0) "]") == 0 && st.reply_bins == 1);

    /* Plain events both ways. */
    static const uint8_t FF[] = {0, 0xff};
    sio_buf ff = {FF, 2};
    CHECK_OK(sio_client_emit(c, "ping", "[" SIO_BIN(0) "]", &ff, 1));
    CHECK_OK(sio_client_emit_volatile(c, "ping", "[" SIO_BIN(0) "]", &ff, 1));
    CHECK(wait_count(q, &st.pongs, 2, 10000));
    CHECK(atomic_load(&st.any) >= 3); /* greet, pong, pong */

    /* A timeout, and what cannot be emitted. */
    reset_done(&st);
    atomic_int freed = 0;
    CHECK_OK(sio_client_emit_with_ack(c, "noack", NULL, NULL, 0, 100, cli_reply, &st, NULL));
    CHECK(wait_flag(q, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_ERR_TIMEOUT);
    CHECK(strstr(st.error, "timed out") != NULL);
    CHECK_ERR(sio_client_emit(c, "connect", NULL, NULL, 0), SIO_ERR_INVALID_ARGUMENT, "reserved");
    CHECK_ERR(sio_client_emit_with_ack(c, "x", "nope", NULL, 0, 0, cli_reply, &freed, count_free),
              SIO_ERR_INVALID_ARGUMENT, "invalid JSON");
    CHECK(atomic_load(&freed) == 1);

    /* Disconnect, then connect again. */
    CHECK_OK(sio_client_disconnect(c));
    CHECK(wait_count(q, &st.disconnects, 1, 10000));
    CHECK(strcmp(st.reason, "io client disconnect") == 0);
    CHECK(wait_count(NULL, &srv->disconnects, 1, 10000));
    CHECK(strcmp(srv->last_reason, "client namespace disconnect") == 0);
    CHECK(atomic_load(&srv->disconnectings) >= 1);
    reset_done(&st);
    CHECK_OK(sio_client_connect(c, cli_done, &st, NULL));
    CHECK(wait_flag(q, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_OK);
    CHECK(wait_count(q, &st.connects, 2, 10000));
    CHECK(wait_count(q, &srv->greet_acked, 2, 10000));

    sio_client_free(c);
    pump(q, 20);
    sio_queue_free(q);
}

/* Refused by a middleware: the completion gets SIO_ERR_REFUSED with the
 * server's message and data, and frees the client inside the callback. */
typedef struct {
    cli_state st;
    sio_client *self;
} refused_state;

static void refused_done(void *user_data, int status, const char *error, const sio_payload *args) {
    refused_state *r = user_data;
    CHECK(status == SIO_ERR_REFUSED);
    CHECK(error && strcmp(error, "forbidden") == 0);
    CHECK(strcmp(args->json, "[{\"code\":403}]") == 0);
    sio_client_free(r->self); /* inside its own callback */
    r->self = NULL;
    atomic_store(&r->st.done, 1);
}

static void refused(const char *url) {
    printf("-- C client refused by a middleware\n");
    refused_state r;
    memset(&r, 0, sizeof r);
    char purl[128];
    snprintf(purl, sizeof purl, "%s/private", url);
    CHECK_OK(sio_client_new(purl, NULL, &r.self));
    CHECK_OK(sio_client_on_connect_error(r.self, cli_connect_error, &r.st, NULL));
    atomic_int freed = 0;
    CHECK_OK(sio_client_on_connect(r.self, cli_connect, &freed, count_free));
    CHECK_OK(sio_client_connect(r.self, refused_done, &r, NULL));
    CHECK(wait_flag(NULL, &r.st.done, 10000));
    CHECK(atomic_load(&r.st.errors) == 1);
    CHECK(r.self == NULL);
    CHECK(wait_count(NULL, &freed, 1, 2000));
}

/* The server goes away and comes back on the same port. */
static void reconnection(sio_runtime *rt) {
    printf("-- C client reconnecting\n");
    srv_state srv;
    memset(&srv, 0, sizeof srv);
    sio_server *server = start_server(rt, &srv, "127.0.0.1:0");
    char url[64], addr[64];
    server_url(server, url, sizeof url);
    snprintf(addr, sizeof addr, "%s", url + strlen("http://"));

    cli_state st;
    memset(&st, 0, sizeof st);
    sio_client_options *opts = NULL;
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_OK(sio_client_options_set_reconnection_delay(opts, 50, 100));
    CHECK_OK(sio_client_options_set_randomization_factor(opts, 0));
    CHECK_OK(sio_client_options_set_transports(opts, SIO_TRANSPORT_WEBSOCKET));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, opts, &c));
    sio_client_options_free(opts);
    CHECK_OK(sio_client_on(c, "greet", cli_greet, &st, NULL));
    CHECK_OK(sio_client_on_connect(c, cli_connect, &st, NULL));
    CHECK_OK(sio_client_on_disconnect(c, cli_disconnect, &st, NULL));
    CHECK_OK(sio_client_on_reconnect(c, cli_reconnect, &st, NULL));
    CHECK_OK(sio_client_connect(c, NULL, NULL, NULL));
    CHECK(wait_count(NULL, &st.connects, 1, 10000));
    CHECK(wait_count(NULL, &srv.greet_acked, 1, 10000));

    sio_server_free(server);
    CHECK(wait_count(NULL, &st.disconnects, 1, 10000));
    CHECK(strcmp(st.reason, "transport close") == 0);
    CHECK(wait_count(NULL, &st.attempts, 1, 10000));
    CHECK(wait_count(NULL, &st.errors, 1, 10000));

    srv_state srv2;
    memset(&srv2, 0, sizeof srv2);
    server = start_server(rt, &srv2, addr);
    CHECK(wait_count(NULL, &st.reconnected, 1, 10000));
    CHECK(wait_count(NULL, &st.connects, 2, 10000));
    CHECK(sio_client_connected(c));
    CHECK(wait_count(NULL, &srv2.greet_acked, 1, 10000));
    sio_client_free(c);
    /* The servers' callbacks use srv and srv2: wait for the last ones. */
    CHECK(wait_count(NULL, &srv2.disconnects, 1, 10000));
    CHECK(wait_count(NULL, &srv.disconnects, 1, 10000));
    sio_server_free(server);
}

/* Nothing listens: the first attempt fails, then every reconnection. */
static void unreachable(void) {
    printf("-- C client with nobody to talk to\n");
    cli_state st;
    memset(&st, 0, sizeof st);
    sio_client_options *opts = NULL;
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_OK(sio_client_options_set_reconnection_attempts(opts, 2));
    CHECK_OK(sio_client_options_set_reconnection_delay(opts, 20, 40));
    CHECK_OK(sio_client_options_set_timeout(opts, 2000));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new("http://127.0.0.1:9", opts, &c));
    sio_client_options_free(opts);
    CHECK_OK(sio_client_on_reconnect(c, cli_reconnect, &st, NULL));
    reset_done(&st);
    CHECK_OK(sio_client_connect(c, cli_done, &st, NULL));
    CHECK(wait_flag(NULL, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_ERR_IO); /* not a refusal */
    CHECK(strlen(st.error) > 0);
    CHECK(wait_count(NULL, &st.failed, 1, 10000));
    CHECK(atomic_load(&st.attempts) == 2);
    sio_client_free(c);
}

/* TLS options: bad roots are refused up front; a server that does not
 * speak TLS (ours, plain) fails the handshake with a message. */
static void tls(const char *url) {
    printf("-- C client TLS options\n");
    static const char PEM[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    sio_client_options *opts = NULL;
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_ERR(sio_client_options_add_tls_root_pem(opts, NULL, 0), SIO_ERR_INVALID_ARGUMENT, "pem");
    CHECK_ERR(sio_client_options_add_tls_root_pem(opts, (const uint8_t *)"nope", 4), SIO_ERR_INVALID_ARGUMENT,
              "PEM");
    CHECK_OK(sio_client_options_add_tls_root_pem(opts, (const uint8_t *)PEM, sizeof PEM - 1));
    CHECK_OK(sio_client_options_set_tls_builtin_roots(opts, false));
    static const char KEY[] = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
    CHECK_ERR(sio_client_options_set_tls_client_cert(opts, NULL, 0, (const uint8_t *)KEY, sizeof KEY - 1),
              SIO_ERR_INVALID_ARGUMENT, "cert_pem");
    CHECK_ERR(sio_client_options_set_tls_client_cert(opts, (const uint8_t *)PEM, sizeof PEM - 1, NULL, 0),
              SIO_ERR_INVALID_ARGUMENT, "key_pem");
    CHECK_ERR(sio_client_options_set_tls_client_cert(opts, (const uint8_t *)PEM, sizeof PEM - 1,
                                                     (const uint8_t *)"nope", 4),
              SIO_ERR_INVALID_ARGUMENT, "key_pem");
    CHECK_OK(sio_client_options_set_tls_client_cert(opts, (const uint8_t *)PEM, sizeof PEM - 1, (const uint8_t *)KEY,
                                                    sizeof KEY - 1));
    CHECK_OK(sio_client_options_set_reconnection(opts, false));
    CHECK_OK(sio_client_options_set_timeout(opts, 3000));
    char https[96];
    snprintf(https, sizeof https, "https://%s", url + strlen("http://"));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(https, opts, &c));
    sio_client_options_free(opts);
    cli_state st;
    memset(&st, 0, sizeof st);
    reset_done(&st);
    CHECK_OK(sio_client_connect(c, cli_done, &st, NULL));
    CHECK(wait_flag(NULL, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_ERR_IO);
    CHECK(strlen(st.error) > 0);
    CHECK(!sio_client_connected(c));
    sio_client_free(c);
}

/* Teardown while traffic flows: clients flood a server with acked events
 * that it answers and rebroadcasts; a client, then the server, then the
 * other clients are freed mid-flight. Every completion's user_data is
 * released exactly once, and AddressSanitizer sees no leak or stale use. */
static atomic_int flood_issued, flood_released, flood_completed, flood_heard;

static void flood_event(void *user_data, const sio_socket *s, const char *event, const sio_payload *args,
                        sio_ack *ack) {
    (void)user_data;
    (void)event;
    /* Either may fail once things close: that is the point. */
    sio_broadcast *b = NULL;
    if (sio_socket_broadcast(s, &b) == SIO_OK) {
        sio_broadcast_emit(b, "flood", args->json, args->bins, args->n_bins);
        sio_broadcast_free(b);
    }
    if (ack) sio_ack_send(ack, args->json, args->bins, args->n_bins);
}

static void flood_connection(void *user_data, const sio_socket *s) {
    (void)user_data;
    CHECK_OK(sio_socket_on(s, "flood", flood_event, NULL, NULL));
}

static void flood_heard_cb(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)user_data;
    (void)event;
    (void)args;
    sio_ack_free(ack);
    atomic_fetch_add(&flood_heard, 1);
}

static void flood_done(void *user_data, int status, const char *error, const sio_payload *args) {
    (void)user_data;
    (void)status;
    (void)error;
    CHECK(args != NULL);
    atomic_fetch_add(&flood_completed, 1);
}

static void flood_release(void *user_data) {
    free(user_data);
    atomic_fetch_add(&flood_released, 1);
}

static void teardown_under_traffic(void) {
    printf("-- teardown while traffic flows\n");
    sio_server *server = NULL;
    CHECK_OK(sio_server_new(NULL, &server));
    sio_namespace *ns = NULL;
    CHECK_OK(sio_server_of(server, "/", &ns));
    CHECK_OK(sio_namespace_on_connection(ns, flood_connection, NULL, NULL));
    sio_namespace_free(ns);
    CHECK_OK(sio_server_listen(server, "127.0.0.1:0"));
    char url[64];
    server_url(server, url, sizeof url);

    enum { N = 3 };
    sio_client *clients[N] = {0};
    for (int i = 0; i < N; i++) {
        sio_client_options *opts = NULL;
        CHECK_OK(sio_client_options_new(&opts));
        CHECK_OK(sio_client_options_set_force_new(opts, true));
        CHECK_OK(sio_client_options_set_reconnection(opts, false));
        CHECK_OK(sio_client_options_set_transports(opts, i == 0 ? SIO_TRANSPORT_POLLING : SIO_TRANSPORT_WEBSOCKET));
        CHECK_OK(sio_client_new(url, opts, &clients[i]));
        sio_client_options_free(opts);
        CHECK_OK(sio_client_on(clients[i], "flood", flood_heard_cb, NULL, NULL));
        cli_state st;
        memset(&st, 0, sizeof st);
        reset_done(&st);
        CHECK_OK(sio_client_connect(clients[i], cli_done, &st, NULL));
        CHECK(wait_flag(NULL, &st.done, 10000));
        CHECK(atomic_load(&st.done_status) == SIO_OK);
    }

    static const uint8_t BIN[64] = {1, 2, 3};
    sio_buf buf = {BIN, sizeof BIN};
    long start = now_ms();
    int step = 0;
    while (now_ms() - start < 1500) {
        long t = now_ms() - start;
        if (step == 0 && t > 300) {
            sio_client_free(clients[0]);
            clients[0] = NULL;
            step = 1;
        } else if (step == 1 && t > 600) {
            sio_server_free(server);
            server = NULL;
            step = 2;
        } else if (step == 2 && t > 900) {
            sio_client_free(clients[1]);
            clients[1] = NULL;
            step = 3;
        }
        for (int i = 0; i < N; i++) {
            if (!clients[i]) continue;
            int *tag = malloc(sizeof *tag);
            *tag = i;
            atomic_fetch_add(&flood_issued, 1);
            /* May fail once the server is gone; the user_data is released
             * either way. */
            sio_client_emit_with_ack(clients[i], "flood", "[\"x\"," SIO_BIN(0) "]", &buf, 1, 500, flood_done, tag,
                                     flood_release);
        }
        sleep_ms(2);
    }
    sio_client_free(clients[2]);
    CHECK(atomic_load(&flood_heard) > 0);
    CHECK(wait_count(NULL, &flood_released, atomic_load(&flood_issued), 10000));
    CHECK(atomic_load(&flood_released) == atomic_load(&flood_issued));
    CHECK(atomic_load(&flood_completed) <= atomic_load(&flood_issued));
    CHECK(atomic_load(&flood_completed) > 0);
}

/* A server on a runtime only it holds, freed inside one of its own
 * callbacks (on that runtime's thread): the runtime winds down by itself. */
static sio_server *doomed;
static atomic_int doomed_freed;

static void doomed_event(void *user_data, const sio_socket *s, const char *event, const sio_payload *args,
                         sio_ack *ack) {
    (void)user_data;
    (void)s;
    (void)event;
    (void)args;
    sio_ack_free(ack);
    sio_server_free(doomed);
    doomed = NULL;
    atomic_store(&doomed_freed, 1);
}

static void doomed_connection(void *user_data, const sio_socket *s) {
    CHECK_OK(sio_socket_on(s, "die", doomed_event, user_data, NULL));
}

static void server_freed_in_callback(void) {
    printf("-- a server freed inside its own callback\n");
    sio_runtime *rt = NULL;
    CHECK_OK(sio_runtime_new(1, &rt));
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    CHECK_OK(sio_server_options_set_runtime(opts, rt));
    sio_runtime_free(rt); /* the server holds the last reference */
    CHECK_OK(sio_server_new(opts, &doomed));
    sio_server_options_free(opts);
    sio_namespace *ns = NULL;
    CHECK_OK(sio_server_of(doomed, "/", &ns));
    CHECK_OK(sio_namespace_on_connection(ns, doomed_connection, NULL, NULL));
    sio_namespace_free(ns);
    CHECK_OK(sio_server_listen(doomed, "127.0.0.1:0"));
    char url[64];
    server_url(doomed, url, sizeof url);

    cli_state st;
    memset(&st, 0, sizeof st);
    sio_client_options *copts = NULL;
    CHECK_OK(sio_client_options_new(&copts));
    CHECK_OK(sio_client_options_set_reconnection(copts, false));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, copts, &c));
    sio_client_options_free(copts);
    CHECK_OK(sio_client_on_connect(c, cli_connect, &st, NULL));
    CHECK_OK(sio_client_on_disconnect(c, cli_disconnect, &st, NULL));
    CHECK_OK(sio_client_connect(c, NULL, NULL, NULL));
    CHECK(wait_count(NULL, &st.connects, 1, 10000));
    CHECK_OK(sio_client_emit(c, "die", NULL, NULL, 0));
    CHECK(wait_flag(NULL, &doomed_freed, 10000));
    CHECK(wait_count(NULL, &st.disconnects, 1, 10000));
    sio_client_free(c);
}

int main(void) {
    sio_runtime *rt = NULL;
    CHECK_OK(sio_runtime_new(2, &rt));
    srv_state srv;
    memset(&srv, 0, sizeof srv);
    sio_server *server = start_server(rt, &srv, "127.0.0.1:0");
    char url[64];
    server_url(server, url, sizeof url);

    conversation(url, &srv);
    refused(url);
    reconnection(rt);
    unreachable();
    tls(url);
    teardown_under_traffic();
    server_freed_in_callback();

    sio_server_free(server);
    sio_runtime_free(rt);
    return report("test_client");
}
