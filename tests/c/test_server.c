/* The C API's server half, end to end: a C server talks with the npm
 * socket.io-client (tests/node/capi-client.mjs), twice — callbacks on the
 * runtime's threads, then callbacks on this thread through an event queue
 * (and WebSocket only) — after the local checks of every call family's
 * error statuses and messages, and the client bundle served over HTTP
 * (serve_client, from tests/node/node_modules/socket.io-client).
 *
 *   test_server        (SIO_NODE_DIR: the folder of capi-client.mjs)
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include <pthread.h>

#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

/* ------------------------------------------------------------------------ */
/* Local checks: statuses, messages, ownership of user_data on failure.     */

static void local_checks(void) {
    CHECK(sio_abi_version() == SIO_ABI_VERSION);
    CHECK(strlen(sio_version()) > 0);
    CHECK(strcmp(sio_status_str(SIO_ERR_TIMEOUT), "timed out") == 0);
    CHECK(strcmp(sio_status_str(12345), "unknown status") == 0);

    /* NULL out-pointers and handles. */
    CHECK_ERR(sio_server_new(NULL, NULL), SIO_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK_ERR(sio_server_listen(NULL, "127.0.0.1:0"), SIO_ERR_INVALID_ARGUMENT, "server is NULL");
    CHECK(sio_socket_id(NULL) == NULL);
    CHECK(!sio_socket_connected(NULL));
    CHECK_ERR(sio_ack_send(NULL, NULL, NULL, 0), SIO_ERR_INVALID_ARGUMENT, "ack is NULL");
    CHECK_ERR(sio_next_accept(NULL), SIO_ERR_INVALID_ARGUMENT, "next is NULL");
    /* Free functions take NULL. */
    sio_server_free(NULL);
    sio_socket_free(NULL);
    sio_broadcast_free(NULL);
    sio_queue_free(NULL);
    sio_string_free(NULL);

    /* Options. */
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    CHECK(strcmp(sio_last_error(), "") == 0);
    CHECK_ERR(sio_server_options_set_ping_interval(opts, 0), SIO_ERR_INVALID_ARGUMENT, "must not be 0");
    CHECK_ERR(sio_server_options_set_transports(opts, 0), SIO_ERR_INVALID_ARGUMENT, "transport mask");
    CHECK_ERR(sio_server_options_set_transports(opts, 4), SIO_ERR_INVALID_ARGUMENT, "transport mask");
    CHECK_ERR(sio_server_options_set_path(opts, NULL), SIO_ERR_INVALID_ARGUMENT, "path is NULL");
    CHECK_ERR(sio_server_options_set_path(opts, "/\xff"), SIO_ERR_INVALID_ARGUMENT, "not UTF-8");
    CHECK_OK(sio_server_options_set_ping_interval(opts, 1000));
    CHECK_OK(sio_server_options_set_ack_timeout(opts, 2000));
    CHECK_OK(sio_server_options_set_cors_origin(opts, "*"));
    CHECK_OK(sio_server_options_set_recovery(opts, false, 0));

    sio_server *server = NULL;
    CHECK_OK(sio_server_new(opts, &server));
    sio_server_options_free(opts);

    uint16_t port = 0;
    CHECK_ERR(sio_server_port(server, &port), SIO_ERR_STATE, "not listening");
    CHECK_ERR(sio_server_listen(server, "not an address"), SIO_ERR_IO, "cannot listen on not an address");
    CHECK_OK(sio_server_listen(server, "127.0.0.1:0"));
    CHECK_OK(sio_server_port(server, &port));
    CHECK(port != 0);
    CHECK_ERR(sio_server_listen(server, "127.0.0.1:0"), SIO_ERR_STATE, "already listening");

    /* Payloads. */
    sio_namespace *ns = NULL;
    CHECK_OK(sio_server_of(server, "/", &ns));
    CHECK(strcmp(sio_namespace_name(ns), "/") == 0);
    CHECK_OK(sio_namespace_emit(ns, "nobody", NULL, NULL, 0));
    CHECK_OK(sio_namespace_emit(ns, "nobody", "[1,\"two\",{\"three\":[3]}]", NULL, 0));
    CHECK_ERR(sio_namespace_emit(ns, "x", "[1,", NULL, 0), SIO_ERR_INVALID_ARGUMENT, "invalid JSON");
    CHECK_ERR(sio_namespace_emit(ns, "x", "{\"a\":1}", NULL, 0), SIO_ERR_INVALID_ARGUMENT, "must be a JSON array");
    sio_buf one = {(const uint8_t *)"x", 1};
    CHECK_OK(sio_namespace_emit(ns, "x", "[" SIO_BIN(0) "]", &one, 1));
    CHECK_ERR(sio_namespace_emit(ns, "x", "[" SIO_BIN(1) "]", &one, 1), SIO_ERR_INVALID_ARGUMENT,
              "placeholder 1 has no buffer");
    CHECK_ERR(sio_namespace_emit(ns, "x", "[" SIO_BIN(0) "]", NULL, 0), SIO_ERR_INVALID_ARGUMENT,
              "placeholder without binary buffers");
    CHECK_ERR(sio_namespace_emit(ns, "x", "[]", NULL, 2), SIO_ERR_INVALID_ARGUMENT, "bins is NULL");
    CHECK_ERR(sio_namespace_emit(ns, NULL, "[]", NULL, 0), SIO_ERR_INVALID_ARGUMENT, "event is NULL");
    CHECK_ERR(sio_namespace_emit(ns, "\xfe", "[]", NULL, 0), SIO_ERR_INVALID_ARGUMENT, "not UTF-8");

    /* A registration that fails still releases user_data. */
    atomic_int freed = 0;
    CHECK_ERR(sio_namespace_on_connection(ns, NULL, &freed, count_free), SIO_ERR_INVALID_ARGUMENT, "cb is NULL");
    CHECK(atomic_load(&freed) == 1);

    /* Broadcast operators, with nobody to reach. */
    sio_broadcast *b = NULL;
    CHECK_OK(sio_namespace_to(ns, "nowhere", &b));
    CHECK_OK(sio_broadcast_except(b, "elsewhere"));
    CHECK_OK(sio_broadcast_volatile(b));
    CHECK_OK(sio_broadcast_compress(b, false));
    CHECK_OK(sio_broadcast_local(b));
    CHECK_OK(sio_broadcast_emit(b, "e", "[]", NULL, 0));
    CHECK_ERR(sio_broadcast_to(b, NULL), SIO_ERR_INVALID_ARGUMENT, "room is NULL");
    sio_broadcast_free(b);
    size_t count = 99;
    CHECK_OK(sio_namespace_socket_count(ns, &count));
    CHECK(count == 0);
    sio_namespace_free(ns);

    /* Queues: a timeout returns SIO_OK with nothing run. */
    sio_queue *q = NULL;
    CHECK_OK(sio_queue_new(&q));
    int fd = -1;
    CHECK_OK(sio_queue_fd(q, &fd));
    CHECK(fd >= 0);
    size_t n = 99;
    long t0 = now_ms();
    CHECK_OK(sio_queue_poll(q, 30, &n));
    CHECK(n == 0 && now_ms() - t0 >= 25);
    sio_queue_free(q);

    /* Clients: misuse before connecting. */
    sio_client_options *copts = NULL;
    CHECK_OK(sio_client_options_new(&copts));
    CHECK_ERR(sio_client_options_set_auth(copts, "[1]"), SIO_ERR_INVALID_ARGUMENT, "JSON object");
    CHECK_ERR(sio_client_options_add_header(copts, "bad header", "v"), SIO_ERR_INVALID_ARGUMENT, "invalid header");
    CHECK_ERR(sio_client_options_set_reconnection_delay(copts, 100, 10), SIO_ERR_INVALID_ARGUMENT, "shorter");
    sio_client *client = NULL;
    CHECK_ERR(sio_client_new(NULL, copts, &client), SIO_ERR_INVALID_ARGUMENT, "url is NULL");
    CHECK_OK(sio_client_new("http://127.0.0.1:9", copts, &client));
    sio_client_options_free(copts);
    CHECK_ERR(sio_client_emit(client, "e", NULL, NULL, 0), SIO_ERR_STATE, "connect it first");
    char *id = NULL;
    CHECK_ERR(sio_client_id(client, &id), SIO_ERR_STATE, "not connected");
    sio_client_free(client);

    CHECK_OK(sio_server_close(server, NULL, NULL, NULL));
    sio_server_free(server);
}

/* ------------------------------------------------------------------------ */
/* serveClient: the npm client's bundle under the server's path.            */

/* The whole of `path` into a malloc'd buffer; NULL if unreadable. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

/* GET `target` from 127.0.0.1:`port` (Connection: close); the whole
 * response, head and body, malloc'd; NULL on a socket error or after 5 s. */
static char *http_get(uint16_t port, const char *target, size_t *len) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while (buf && (got = read(fd, buf + used, cap - used)) > 0) {
        used += (size_t)got;
        if (used == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    close(fd);
    if (buf) buf[used] = '\0';
    *len = used;
    return buf;
}

static void serve_client_checks(void) {
    const char *node_dir = getenv("SIO_NODE_DIR");
    char dir[1024], file[1200];
    snprintf(dir, sizeof dir, "%s/node_modules/socket.io-client", node_dir ? node_dir : "tests/node");
    snprintf(file, sizeof file, "%s/dist/socket.io.min.js", dir);

    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    CHECK_ERR(sio_server_options_set_serve_client(opts, "/nonexistent/socket.io-client"), SIO_ERR_IO,
              "no socket.io-client bundle in /nonexistent/socket.io-client");
    CHECK_OK(sio_server_options_set_serve_client(opts, dir));
    sio_server *server = NULL;
    CHECK_OK(sio_server_new(opts, &server));
    /* Off again: a server made from the options now serves nothing. */
    CHECK_OK(sio_server_options_set_serve_client(opts, NULL));
    sio_server *plain = NULL;
    CHECK_OK(sio_server_new(opts, &plain));
    sio_server_options_free(opts);

    uint16_t port = 0, plain_port = 0;
    CHECK_OK(sio_server_listen(server, "127.0.0.1:0"));
    CHECK_OK(sio_server_port(server, &port));
    CHECK_OK(sio_server_listen(plain, "127.0.0.1:0"));
    CHECK_OK(sio_server_port(plain, &plain_port));

    size_t want_len = 0, len = 0;
    char *want = read_file(file, &want_len);
    CHECK(want != NULL && want_len > 0);
    char *res = http_get(port, "/socket.io/socket.io.min.js", &len);
    CHECK(res != NULL);
    if (res && want) {
        char *body = strstr(res, "\r\n\r\n");
        CHECK(strncmp(res, "HTTP/1.1 200 OK\r\n", 17) == 0);
        CHECK(strstr(res, "content-type: application/javascript; charset=utf-8\r\n") != NULL);
        CHECK(strstr(res, "etag: \"") != NULL);
        CHECK(body != NULL && (size_t)(res + len - (body + 4)) == want_len &&
              memcmp(body + 4, want, want_len) == 0);
    }
    free(res);
    free(want);
    res = http_get(plain_port, "/socket.io/socket.io.min.js", &len);
    CHECK(res != NULL && strncmp(res, "HTTP/1.1 400 ", 13) == 0);
    free(res);

    CHECK_OK(sio_server_close(server, NULL, NULL, NULL));
    CHECK_OK(sio_server_close(plain, NULL, NULL, NULL));
    sio_server_free(server);
    sio_server_free(plain);
}

/* ------------------------------------------------------------------------ */
/* The conversation with the node client.                                   */

typedef struct {
    int queued;           /* callbacks through an event queue */
    sio_server *server;
    sio_namespace *root;  /* freed at the end */
    atomic_int connections, disconnects, any_events, freed_conn, close_done, answers;
} server_ctx;

/* Per-socket state, released by the library (free_user_data of the
 * disconnect callback): holds a socket handle of its own. */
typedef struct {
    server_ctx *ctx;
    sio_socket *self;
} conn_state;

static void conn_free(void *p) {
    conn_state *cs = p;
    atomic_fetch_add(&cs->ctx->freed_conn, 1);
    sio_socket_free(cs->self);
    free(cs);
}

static void on_answer(void *user_data, int status, const char *error, const sio_payload *args) {
    sio_socket *socket = user_data; /* a clone, freed by free_socket */
    CHECK(status == SIO_OK && error == NULL);
    CHECK(strcmp(args->json, "[42]") == 0);
    CHECK_OK(sio_socket_emit(socket, "answer", args->json, NULL, 0));
}

typedef struct {
    sio_ack *ack;
    sio_socket *socket;
} pending_ack;

static void on_fetched(void *user_data, int status, const char *error, const sio_socket *const *sockets,
                       size_t n) {
    pending_ack *p = user_data;
    CHECK(status == SIO_OK && error == NULL);
    for (size_t i = 0; i < n; i++) CHECK(sio_socket_connected(sockets[i]));
    sio_namespace *ns = NULL;
    CHECK_OK(sio_socket_namespace(p->socket, &ns));
    size_t count = 0;
    CHECK_OK(sio_namespace_socket_count(ns, &count));
    sio_namespace_free(ns);
    char *rooms = NULL;
    CHECK_OK(sio_socket_rooms(p->socket, &rooms));
    char reply[256];
    snprintf(reply, sizeof reply, "[{\"fetched\":%zu,\"count\":%zu,\"rooms\":%s}]", n, count,
             rooms && strstr(rooms, "\"r1\"") ? "true" : "false");
    sio_string_free(rooms);
    CHECK_OK(sio_ack_send(p->ack, reply, NULL, 0));
    sio_socket_free(p->socket);
    free(p);
}

static void on_votes(void *user_data, int status, const char *error, const sio_ack_reply *replies,
                     size_t n_replies, const char *const *missing, size_t n_missing) {
    (void)missing;
    sio_ack *ack = user_data;
    CHECK(status == SIO_OK && error == NULL);
    int yes = 0;
    for (size_t i = 0; i < n_replies; i++) {
        CHECK(strlen(replies[i].socket_id) == 20);
        if (strstr(replies[i].args.json, "yes")) yes++;
    }
    char reply[128];
    snprintf(reply, sizeof reply, "[{\"replies\":%zu,\"missing\":%zu,\"yes\":%d}]", n_replies, n_missing, yes);
    CHECK_OK(sio_ack_send(ack, reply, NULL, 0));
}

static void on_closed(void *user_data, int status, const char *error) {
    server_ctx *ctx = user_data;
    CHECK(status == SIO_OK && error == NULL);
    atomic_store(&ctx->close_done, 1);
}

static void on_event(void *user_data, const sio_socket *s, const char *event, const sio_payload *args,
                     sio_ack *ack) {
    conn_state *cs = user_data;
    server_ctx *ctx = cs->ctx;
    char room[64], text[64];

    if (strcmp(event, "echo") == 0) {
        /* The arguments back, buffers included. */
        CHECK(ack != NULL);
        if (strncmp(args->json, "[\"hi\"", 5) == 0) {
            CHECK(args->n_bins == 1 && args->bins[0].len == 3 && args->bins[0].data[2] == 3);
        } else {
            CHECK(args->n_bins == 1 && args->bins[0].len == 1 && args->bins[0].data[0] == 9);
        }
        CHECK(args->json[args->json_len] == 0);
        CHECK_OK(sio_ack_send(ack, args->json, args->bins, args->n_bins));
    } else if (strcmp(event, "ask-me") == 0) {
        sio_socket *clone = NULL;
        CHECK_OK(sio_socket_clone(s, &clone));
        CHECK_OK(sio_socket_emit_with_ack(s, "question", args->json, NULL, 0, 8000, on_answer, clone, free_socket));
        atomic_fetch_add(&ctx->answers, 1);
    } else if (strcmp(event, "join") == 0) {
        CHECK(json_string(args->json, 0, room, sizeof room));
        CHECK_OK(sio_socket_join(s, room));
        char reply[128];
        snprintf(reply, sizeof reply, "[\"joined %s\"]", room);
        CHECK_OK(sio_ack_send(ack, reply, NULL, 0));
    } else if (strcmp(event, "to-room") == 0) {
        /* A broadcast made and freed inside the callback. */
        CHECK(json_string(args->json, 0, room, sizeof room));
        CHECK(json_string(args->json, 1, text, sizeof text));
        sio_broadcast *b = NULL;
        CHECK_OK(sio_socket_to(s, room, &b));
        char msg[128];
        snprintf(msg, sizeof msg, "[\"%s\",\"%s\"]", text, sio_socket_id(s));
        CHECK_OK(sio_broadcast_emit(b, "room-msg", msg, NULL, 0));
        sio_broadcast_free(b);
    } else if (strcmp(event, "count") == 0) {
        pending_ack *p = malloc(sizeof *p);
        p->ack = ack;
        CHECK_OK(sio_socket_clone(s, &p->socket));
        CHECK_OK(sio_namespace_fetch_sockets(ctx->root, on_fetched, p, NULL));
    } else if (strcmp(event, "poll") == 0) {
        sio_broadcast *b = NULL;
        CHECK_OK(sio_namespace_broadcast(ctx->root, &b));
        CHECK_OK(sio_broadcast_timeout(b, 2000));
        CHECK_OK(sio_broadcast_emit_with_ack(b, "vote", NULL, NULL, 0, on_votes, ack, NULL));
        sio_broadcast_free(b);
    } else if (strcmp(event, "bad-emit") == 0) {
        int st = sio_socket_emit(s, "x", "{not json", NULL, 0);
        char quoted[512], reply[600];
        json_quote(sio_last_error(), quoted, sizeof quoted);
        snprintf(reply, sizeof reply, "[%d,%s]", st, quoted);
        CHECK_OK(sio_ack_send(ack, reply, NULL, 0));
    } else if (strcmp(event, "kick-me") == 0) {
        /* A handle made, used and freed inside the callback. */
        sio_socket *clone = NULL;
        CHECK_OK(sio_socket_clone(s, &clone));
        CHECK_OK(sio_socket_disconnect(clone, false));
        sio_socket_free(clone);
        sio_ack_free(ack);
    } else if (strcmp(event, "stats") == 0) {
        char reply[160];
        snprintf(reply, sizeof reply, "[{\"any\":%d,\"disconnects\":%d,\"connections\":%d}]",
                 atomic_load(&ctx->any_events), atomic_load(&ctx->disconnects),
                 atomic_load(&ctx->connections));
        CHECK_OK(sio_ack_send(ack, reply, NULL, 0));
    } else if (strcmp(event, "bye") == 0) {
        CHECK_OK(sio_server_close(ctx->server, on_closed, ctx, NULL));
        if (ctx->queued) {
            /* Freed inside its own callback. */
            sio_server_free(ctx->server);
            ctx->server = NULL;
        }
        sio_ack_free(ack);
    } else {
        sio_ack_free(ack);
    }
}

static void on_any(void *user_data, const sio_socket *s, const char *event, const sio_payload *args) {
    server_ctx *ctx = user_data;
    CHECK(s != NULL && event != NULL && args->json[0] == '[');
    atomic_fetch_add(&ctx->any_events, 1);
}

static void on_disconnect(void *user_data, const sio_socket *s, const char *reason) {
    conn_state *cs = user_data;
    CHECK(!sio_socket_connected(s));
    CHECK(strlen(reason) > 0);
    atomic_fetch_add(&cs->ctx->disconnects, 1);
}

static const char *const EVENTS[] = {"echo", "ask-me", "join", "to-room", "count", "poll",
                                     "bad-emit", "kick-me", "stats", "bye"};

static void on_connection(void *user_data, const sio_socket *s) {
    server_ctx *ctx = user_data;
    atomic_fetch_add(&ctx->connections, 1);
    CHECK(sio_socket_connected(s));
    CHECK(strcmp(sio_socket_nsp(s), "/") == 0);

    conn_state *cs = calloc(1, sizeof *cs);
    cs->ctx = ctx;
    CHECK_OK(sio_socket_clone(s, &cs->self));
    for (size_t i = 0; i < sizeof EVENTS / sizeof *EVENTS; i++) {
        CHECK_OK(sio_socket_on(s, EVENTS[i], on_event, cs, NULL));
    }
    uint64_t any_id = 0;
    CHECK_OK(sio_socket_on_any(s, on_any, ctx, NULL, &any_id));
    /* The last registration owns cs: released after the socket is gone. */
    CHECK_OK(sio_socket_on_disconnect(s, on_disconnect, cs, conn_free));

    /* Registered and replaced: the first user_data is released at once. */
    atomic_int freed = 0;
    CHECK_OK(sio_socket_on(s, "replaced", on_event, &freed, count_free));
    CHECK_OK(sio_socket_on(s, "replaced", on_event, cs, NULL));
    CHECK(atomic_load(&freed) == 1);
    CHECK_OK(sio_socket_off(s, "replaced"));

    char *hs = NULL;
    CHECK_OK(sio_socket_handshake(s, &hs));
    CHECK(hs && strstr(hs, "\"auth\":{\"name\":\""));
    sio_string_free(hs);
    CHECK_OK(sio_socket_set_data(s, "{\"seen\":true}"));
    char *data = NULL;
    CHECK_OK(sio_socket_get_data(s, &data));
    CHECK(data && strcmp(data, "{\"seen\":true}") == 0);
    sio_string_free(data);

    /* Events of this socket wait for this callback: emit first. */
    static const uint8_t DEADBEEF[] = {0xde, 0xad, 0xbe, 0xef};
    sio_buf buf = {DEADBEEF, sizeof DEADBEEF};
    char msg[160];
    snprintf(msg, sizeof msg, "[\"hello\"," SIO_BIN(0) ",{\"n\":1,\"id\":\"%s\"}]", sio_socket_id(s));
    CHECK_OK(sio_socket_emit(s, "welcome", msg, &buf, 1));
}

typedef struct {
    server_ctx *ctx;
    sio_next *next;
    int accept;
} verdict;

static void *answer_later(void *p) {
    verdict *v = p;
    sleep_ms(10);
    if (v->accept) {
        CHECK_OK(sio_next_accept(v->next));
    } else {
        CHECK_OK(sio_next_refuse(v->next, "forbidden", "{\"code\":403,\"why\":\"bad token\"}"));
    }
    free(v);
    return NULL;
}

static void middleware(void *user_data, const sio_socket *s, sio_next *next) {
    server_ctx *ctx = user_data;
    char *hs = NULL;
    CHECK_OK(sio_socket_handshake(s, &hs));
    int good = hs && strstr(hs, "\"token\":\"good\"") != NULL;
    sio_string_free(hs);
    if (ctx->queued) {
        /* Answered now. */
        if (good) {
            CHECK_OK(sio_next_accept(next));
        } else {
            CHECK_OK(sio_next_refuse(next, "forbidden", "{\"code\":403,\"why\":\"bad token\"}"));
        }
        return;
    }
    /* Answered later, from another thread. */
    verdict *v = malloc(sizeof *v);
    v->ctx = ctx;
    v->next = next;
    v->accept = good;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, answer_later, v) == 0);
    pthread_detach(t);
}

static void private_event(void *user_data, const sio_socket *s, const char *event, const sio_payload *args,
                          sio_ack *ack) {
    (void)user_data;
    (void)event;
    (void)args;
    char *hs = NULL;
    CHECK_OK(sio_socket_handshake(s, &hs));
    char reply[128];
    snprintf(reply, sizeof reply, "[{\"token\":%s,\"nsp\":\"%s\"}]",
             hs && strstr(hs, "\"token\":\"good\"") ? "true" : "false", sio_socket_nsp(s));
    sio_string_free(hs);
    CHECK_OK(sio_ack_send(ack, reply, NULL, 0));
}

static void private_connection(void *user_data, const sio_socket *s) {
    server_ctx *ctx = user_data;
    atomic_fetch_add(&ctx->connections, 1);
    CHECK_OK(sio_socket_on(s, "whoami", private_event, NULL, NULL));
}

static void conversation(int queued) {
    printf("-- conversation with socket.io-client, callbacks %s\n",
           queued ? "through an event queue" : "on the runtime's threads");
    fflush(stdout);
    server_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.queued = queued;

    sio_runtime *rt = NULL;
    sio_queue *q = NULL;
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    CHECK_OK(sio_server_options_set_ack_timeout(opts, 3000));
    if (queued) {
        CHECK_OK(sio_queue_new(&q));
        CHECK_OK(sio_server_options_set_queue(opts, q));
    } else {
        /* A runtime of our own, released at once: the server keeps it. */
        CHECK_OK(sio_runtime_new(2, &rt));
        CHECK_OK(sio_server_options_set_runtime(opts, rt));
        sio_runtime_free(rt);
    }
    CHECK_OK(sio_server_new(opts, &ctx.server));
    sio_server_options_free(opts);

    CHECK_OK(sio_server_of(ctx.server, "/", &ctx.root));
    CHECK_OK(sio_namespace_on_connection(ctx.root, on_connection, &ctx, NULL));
    sio_namespace *priv = NULL;
    CHECK_OK(sio_server_of(ctx.server, "/private", &priv));
    CHECK_OK(sio_namespace_use(priv, middleware, &ctx, NULL));
    CHECK_OK(sio_namespace_on_connection(priv, private_connection, &ctx, NULL));
    sio_namespace_free(priv); /* the namespace lives on */

    CHECK_OK(sio_server_listen(ctx.server, "127.0.0.1:0"));
    uint16_t port = 0;
    CHECK_OK(sio_server_port(ctx.server, &port));
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);

    pid_t child = spawn_node("capi-client.mjs", url, queued ? "websocket" : "polling");
    CHECK(child > 0);
    int status = child > 0 ? wait_child(q, child, 40000) : -1;
    CHECK(status == 0);
    CHECK(atomic_load(&ctx.answers) == 1);
    if (!queued) {
        CHECK(wait_flag(q, &ctx.close_done, 10000));
        sio_server_free(ctx.server);
    } else {
        CHECK(ctx.server == NULL);
    }
    /* Every socket's state released: a, b (2 sockets on "/"). */
    CHECK(wait_count(q, &ctx.freed_conn, 2, 10000));
    sio_namespace_free(ctx.root);
    if (q) {
        pump(q, 20);
        sio_queue_free(q);
    }
}

int main(void) {
    local_checks();
    serve_client_checks();
    conversation(0);
    conversation(1);
    return report("test_server");
}
