/* The C API's less common server parts, with C clients in the same
 * process: dynamic namespaces (regex and matcher callback, with a parent
 * middleware), per-event middlewares (`socket.use`) and their errors,
 * outgoing listeners, serverSideEmit / allRooms / server count on one
 * server, and, when SIO_REDIS_URL names a running redis-server, two
 * servers joined through the Redis adapter: a broadcast crossing over,
 * serverSideEmit with and without an answer, allRooms and the server count
 * across the cluster, fetchSockets and emitWithAck answered by the other
 * server's client.
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include "test_util.h"

typedef struct {
    atomic_int connections, parent_checks, blocked, errors, outgoing, side_events, replies_done;
    atomic_int reply_status;
    char error[128];
    char reply[256];
    char child_nsp[64];
} srv_state;

/* ------------------------------------------------------------------------ */
/* Server side                                                              */

static bool only_games(void *user_data, const char *name) {
    (void)user_data;
    return strncmp(name, "/game-", 6) == 0;
}

static void parent_middleware(void *user_data, const sio_socket *s, sio_next *next) {
    srv_state *st = user_data;
    atomic_fetch_add(&st->parent_checks, 1);
    if (strcmp(sio_socket_nsp(s), "/room-13") == 0) {
        CHECK_OK(sio_next_refuse(next, "unlucky", "{\"n\":13}"));
    } else {
        CHECK_OK(sio_next_accept(next));
    }
}

/* Lets every event through but "forbidden". */
static const char *event_guard(void *user_data, const sio_socket *s, const char *event,
                               const sio_payload *args) {
    srv_state *st = user_data;
    (void)s;
    CHECK(args->json[0] == '[');
    if (strcmp(event, "forbidden") == 0) {
        atomic_fetch_add(&st->blocked, 1);
        return "not allowed";
    }
    return NULL;
}

static void on_socket_error(void *user_data, const sio_socket *s, const char *message) {
    srv_state *st = user_data;
    CHECK(s != NULL);
    snprintf(st->error, sizeof st->error, "%s", message);
    atomic_fetch_add(&st->errors, 1);
}

static void on_outgoing(void *user_data, const sio_socket *s, const char *event, const sio_payload *args) {
    srv_state *st = user_data;
    (void)s;
    (void)args;
    if (strcmp(event, "where") == 0) atomic_fetch_add(&st->outgoing, 1);
}

/* "where" answers with the socket's namespace; "forbidden" never gets
 * here. */
static void child_event(void *user_data, const sio_socket *s, const char *event, const sio_payload *args,
                        sio_ack *ack) {
    (void)user_data;
    (void)args;
    CHECK(strcmp(event, "forbidden") != 0);
    char reply[128];
    snprintf(reply, sizeof reply, "[\"%s\"]", sio_socket_nsp(s));
    if (ack) CHECK_OK(sio_ack_send(ack, reply, NULL, 0));
    CHECK_OK(sio_socket_emit(s, "where", reply, NULL, 0));
}

static void child_connection(void *user_data, const sio_socket *s) {
    srv_state *st = user_data;
    snprintf(st->child_nsp, sizeof st->child_nsp, "%s", sio_socket_nsp(s));
    CHECK_OK(sio_socket_use(s, event_guard, st, NULL));
    CHECK_OK(sio_socket_on_error(s, on_socket_error, st, NULL));
    CHECK_OK(sio_socket_on_any_outgoing(s, on_outgoing, st, NULL, NULL));
    CHECK_OK(sio_socket_on(s, "where", child_event, st, NULL));
    CHECK_OK(sio_socket_on(s, "forbidden", child_event, st, NULL));
    CHECK_OK(sio_socket_join(s, "lobby"));
    atomic_fetch_add(&st->connections, 1);
}

static void on_side_event(void *user_data, const char *event, const sio_payload *args,
                          sio_server_side_ack *ack) {
    srv_state *st = user_data;
    CHECK(strcmp(event, "hello") == 0);
    CHECK(strcmp(args->json, "[\"from one\"]") == 0);
    if (ack) CHECK_OK(sio_server_side_ack_send(ack, "{\"pong\":2}"));
    atomic_fetch_add(&st->side_events, 1);
}

static void on_reply(void *user_data, int status, const char *error, const sio_payload *args) {
    srv_state *st = user_data;
    snprintf(st->error, sizeof st->error, "%s", error ? error : "");
    snprintf(st->reply, sizeof st->reply, "%s", args->json);
    atomic_store(&st->reply_status, status);
    atomic_fetch_add(&st->replies_done, 1);
}

/* The Redis adapter flavour of the two-server test (SIO_REDIS_FLAVOUR). */
static const char *flavour = "classic";

static sio_server *start_server(srv_state *st, const char *redis_url, uint16_t *port) {
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    if (redis_url) CHECK_OK(sio_server_options_set_redis(opts, redis_url, flavour, "c-test"));
    sio_server *server = NULL;
    CHECK_OK(sio_server_new(opts, &server));
    sio_server_options_free(opts);
    if (!server) return NULL;
    sio_parent_namespace *rooms = NULL, *games = NULL;
    CHECK_OK(sio_server_of_regex(server, "^/room-\\d+$", &rooms));
    CHECK_OK(sio_parent_namespace_use(rooms, parent_middleware, st, NULL));
    CHECK_OK(sio_parent_namespace_on_connection(rooms, child_connection, st, NULL));
    sio_parent_namespace_free(rooms);
    CHECK_OK(sio_server_of_dynamic(server, only_games, NULL, NULL, &games));
    CHECK_OK(sio_parent_namespace_on_connection(games, child_connection, st, NULL));
    sio_parent_namespace_free(games);
    sio_namespace *root = NULL;
    CHECK_OK(sio_server_of(server, "/", &root));
    CHECK_OK(sio_namespace_on_connection(root, child_connection, st, NULL));
    sio_namespace_free(root);
    CHECK_OK(sio_server_on_server_side_emit(server, "hello", on_side_event, st, NULL));
    CHECK_OK(sio_server_listen(server, "127.0.0.1:0"));
    CHECK_OK(sio_server_port(server, port));
    return server;
}

/* ------------------------------------------------------------------------ */
/* Client side                                                              */

typedef struct {
    atomic_int done, where;
    atomic_int status;
    char error[128];
    char reply[256];
    char where_json[128];
} cli_state;

static void cli_done(void *user_data, int status, const char *error, const sio_payload *args) {
    cli_state *st = user_data;
    snprintf(st->error, sizeof st->error, "%s", error ? error : "");
    snprintf(st->reply, sizeof st->reply, "%s", args->json);
    atomic_store(&st->status, status);
    atomic_store(&st->done, 1);
}

static void cli_where(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    cli_state *st = user_data;
    (void)event;
    (void)ack;
    snprintf(st->where_json, sizeof st->where_json, "%s", args->json);
    atomic_fetch_add(&st->where, 1);
}

/* A connected client of `url` (reconnection off); NULL if it failed, with
 * the outcome in `st`. */
static sio_client *connect_client(const char *url, cli_state *st) {
    memset(st, 0, sizeof *st);
    sio_client_options *opts = NULL;
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_OK(sio_client_options_set_reconnection(opts, false));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, opts, &c));
    sio_client_options_free(opts);
    CHECK_OK(sio_client_on(c, "where", cli_where, st, NULL));
    CHECK_OK(sio_client_connect(c, cli_done, st, NULL));
    CHECK(wait_flag(NULL, &st->done, 10000));
    return c;
}

static void reset(cli_state *st) {
    atomic_store(&st->done, 0);
    atomic_store(&st->status, 99);
}

/* ------------------------------------------------------------------------ */

static void one_server(void) {
    printf("-- dynamic namespaces, socket.use, outgoing listeners, one server\n");
    fflush(stdout);
    srv_state st;
    memset(&st, 0, sizeof st);
    uint16_t port = 0;
    sio_server *server = start_server(&st, NULL, &port);
    char url[96];

    /* A name the regex matches: through the parent's middleware. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/room-7", port);
    cli_state c1;
    sio_client *a = connect_client(url, &c1);
    CHECK(atomic_load(&c1.status) == SIO_OK);
    CHECK(wait_count(NULL, &st.connections, 1, 5000));
    CHECK(strcmp(st.child_nsp, "/room-7") == 0);
    CHECK(atomic_load(&st.parent_checks) == 1);

    /* An event the per-event middleware lets through, answered; the
     * outgoing listener sees the server's own emit. */
    reset(&c1);
    CHECK_OK(sio_client_emit_with_ack(a, "where", NULL, NULL, 0, 5000, cli_done, &c1, NULL));
    CHECK(wait_flag(NULL, &c1.done, 10000));
    CHECK(atomic_load(&c1.status) == SIO_OK && strcmp(c1.reply, "[\"/room-7\"]") == 0);
    CHECK(wait_count(NULL, &c1.where, 1, 5000));
    CHECK(wait_count(NULL, &st.outgoing, 1, 5000));

    /* One it stops: the error callback gets the message, the handler
     * never runs, the client's ack times out. */
    reset(&c1);
    CHECK_OK(sio_client_emit_with_ack(a, "forbidden", NULL, NULL, 0, 300, cli_done, &c1, NULL));
    CHECK(wait_flag(NULL, &c1.done, 10000));
    CHECK(atomic_load(&c1.status) == SIO_ERR_TIMEOUT);
    CHECK(atomic_load(&st.blocked) == 1);
    CHECK(wait_count(NULL, &st.errors, 1, 5000));
    CHECK(strcmp(st.error, "not allowed") == 0);

    /* Refused by the parent's middleware, with its data. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/room-13", port);
    cli_state c2;
    sio_client *b = connect_client(url, &c2);
    CHECK(atomic_load(&c2.status) == SIO_ERR_REFUSED);
    CHECK(strcmp(c2.error, "unlucky") == 0 && strcmp(c2.reply, "[{\"n\":13}]") == 0);
    sio_client_free(b);

    /* A name only the matcher callback accepts; one nobody accepts. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/game-x", port);
    cli_state c3;
    sio_client *g = connect_client(url, &c3);
    CHECK(atomic_load(&c3.status) == SIO_OK);
    CHECK(wait_count(NULL, &st.connections, 2, 5000));
    sio_client_free(g);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/nowhere", port);
    cli_state c4;
    sio_client *n = connect_client(url, &c4);
    CHECK(atomic_load(&c4.status) == SIO_ERR_REFUSED);
    CHECK(strcmp(c4.error, "Invalid namespace") == 0);
    sio_client_free(n);

    /* Bad patterns are refused up front. */
    sio_parent_namespace *bad = NULL;
    CHECK_ERR(sio_server_of_regex(server, "(", &bad), SIO_ERR_INVALID_ARGUMENT, "pattern");
    CHECK(bad == NULL);

    /* Between servers, with nobody else: nothing heard, no answers, one
     * server; allRooms from the main namespace. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    cli_state c5;
    sio_client *r = connect_client(url, &c5);
    CHECK(atomic_load(&c5.status) == SIO_OK);
    CHECK_OK(sio_server_server_side_emit(server, "hello", "[\"from one\"]", NULL, 0));
    CHECK_OK(sio_server_server_side_emit_with_ack(server, "hello", "[\"from one\"]", NULL, 0, 200, on_reply, &st,
                                                  NULL));
    CHECK(wait_count(NULL, &st.replies_done, 1, 5000));
    CHECK(atomic_load(&st.reply_status) == SIO_OK && strcmp(st.reply, "[]") == 0);
    CHECK_OK(sio_server_server_count(server, on_reply, &st, NULL));
    CHECK(wait_count(NULL, &st.replies_done, 2, 5000));
    CHECK(strcmp(st.reply, "[1]") == 0);
    CHECK_OK(sio_server_all_rooms(server, on_reply, &st, NULL));
    CHECK(wait_count(NULL, &st.replies_done, 3, 5000));
    CHECK(strstr(st.reply, "\"lobby\"") != NULL);
    CHECK(atomic_load(&st.side_events) == 0);

    sio_client_free(r);
    sio_client_free(a);
    sio_server_free(server);
}

/* Two servers in one Redis cluster. */
typedef struct {
    atomic_int got;
    char json[128];
} bcast_state;

static void on_news(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    bcast_state *st = user_data;
    (void)event;
    (void)ack;
    snprintf(st->json, sizeof st->json, "%s", args->json);
    atomic_fetch_add(&st->got, 1);
}

/* The client answers "poll" with "yes". */
static void on_poll(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)user_data;
    (void)event;
    (void)args;
    if (ack) CHECK_OK(sio_ack_send(ack, "[\"yes\"]", NULL, 0));
}

typedef struct {
    atomic_int done;
    int status;
    size_t n_local, n_missing;
    bool complete;
    char remote[512];
} cluster_reply;

static void on_acks_all(void *user_data, int status, const char *error, const sio_ack_reply *replies,
                        size_t n_replies, const char *const *missing, size_t n_missing, const sio_payload *remote,
                        bool remote_complete) {
    cluster_reply *r = user_data;
    (void)error;
    (void)replies;
    (void)missing;
    r->status = status;
    r->n_local = n_replies;
    r->n_missing = n_missing;
    r->complete = remote_complete;
    snprintf(r->remote, sizeof r->remote, "%s", remote->json);
    atomic_store(&r->done, 1);
}

static void on_all_sockets(void *user_data, int status, const char *error, const sio_socket *const *sockets,
                           size_t n_sockets, const sio_payload *remote) {
    cluster_reply *r = user_data;
    (void)error;
    r->status = status;
    r->n_local = n_sockets;
    for (size_t i = 0; i < n_sockets; i++) CHECK(sio_socket_id(sockets[i]) != NULL);
    snprintf(r->remote, sizeof r->remote, "%s", remote->json);
    atomic_store(&r->done, 1);
}

/* fetchSockets and emitWithAck from `from`, whose lobby is empty, reach the
 * lobby's client on the other server. */
static void cluster_wide(sio_server *from, sio_server *other) {
    sio_namespace *root = NULL;
    CHECK_OK(sio_server_of(from, "/", &root));
    sio_broadcast *bc = NULL;
    CHECK_OK(sio_namespace_to(root, "lobby", &bc));
    CHECK_OK(sio_broadcast_timeout(bc, 5000));
    cluster_reply r;
    memset(&r, 0, sizeof r);
    CHECK_OK(sio_broadcast_emit_with_ack_all(bc, "poll", "[1]", NULL, 0, on_acks_all, &r, NULL));
    CHECK(wait_flag(NULL, &r.done, 10000));
    CHECK(r.status == SIO_OK && r.n_local == 0 && r.n_missing == 0 && r.complete);
    CHECK(strcmp(r.remote, "[\"yes\"]") == 0);

    memset(&r, 0, sizeof r);
    CHECK_OK(sio_broadcast_fetch_all_sockets(bc, on_all_sockets, &r, NULL));
    CHECK(wait_flag(NULL, &r.done, 10000));
    CHECK(r.status == SIO_OK && r.n_local == 0);
    CHECK(r.remote[0] == '[' && strstr(r.remote, "\"rooms\"") && strstr(r.remote, "\"lobby\""));
    sio_broadcast_free(bc);
    sio_namespace_free(root);

    /* From the socket's own server: one local socket, nothing remote. */
    CHECK_OK(sio_server_of(other, "/", &root));
    CHECK_OK(sio_namespace_to(root, "lobby", &bc));
    memset(&r, 0, sizeof r);
    CHECK_OK(sio_broadcast_fetch_all_sockets(bc, on_all_sockets, &r, NULL));
    CHECK(wait_flag(NULL, &r.done, 10000));
    CHECK(r.status == SIO_OK && r.n_local == 1 && strcmp(r.remote, "[]") == 0);
    sio_broadcast_free(bc);
    sio_namespace_free(root);
}

static void two_servers(const char *redis_url) {
    printf("-- two servers joined through Redis (%s)\n", flavour);
    fflush(stdout);
    srv_state s1, s2;
    memset(&s1, 0, sizeof s1);
    memset(&s2, 0, sizeof s2);
    uint16_t p1 = 0, p2 = 0;
    sio_server *one = start_server(&s1, redis_url, &p1);
    sio_server *two = start_server(&s2, redis_url, &p2);
    CHECK(one && two);
    if (!one || !two) {
        sio_server_free(one);
        sio_server_free(two);
        return;
    }
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", p2);
    cli_state c;
    bcast_state news;
    memset(&news, 0, sizeof news);
    sio_client *b = connect_client(url, &c);
    CHECK(atomic_load(&c.status) == SIO_OK);
    CHECK_OK(sio_client_on(b, "news", on_news, &news, NULL));
    CHECK_OK(sio_client_on(b, "poll", on_poll, NULL, NULL));
    CHECK(wait_count(NULL, &s2.connections, 1, 5000));

    /* Both servers see two; a room joined on two is in one's allRooms (the
     * classic protocol only: the others have no allRooms request). */
    long end = now_ms() + 10000;
    int count_ok = 0;
    while (!count_ok && now_ms() < end) {
        int before = atomic_load(&s1.replies_done);
        CHECK_OK(sio_server_server_count(one, on_reply, &s1, NULL));
        wait_count(NULL, &s1.replies_done, before + 1, 5000);
        count_ok = strcmp(s1.reply, "[2]") == 0;
        if (!count_ok) sleep_ms(100);
    }
    CHECK(count_ok);
    int before = atomic_load(&s1.replies_done);
    CHECK_OK(sio_server_all_rooms(one, on_reply, &s1, NULL));
    CHECK(wait_count(NULL, &s1.replies_done, before + 1, 10000));
    if (strcmp(flavour, "classic") == 0) CHECK(strstr(s1.reply, "\"lobby\"") != NULL);

    /* A broadcast from one reaches two's client. */
    sio_namespace *root = NULL;
    CHECK_OK(sio_server_of(one, "/", &root));
    sio_broadcast *bc = NULL;
    CHECK_OK(sio_namespace_to(root, "lobby", &bc));
    CHECK_OK(sio_broadcast_emit(bc, "news", "[\"across\"]", NULL, 0));
    sio_broadcast_free(bc);
    sio_namespace_free(root);
    CHECK(wait_count(NULL, &news.got, 1, 10000));
    CHECK(strcmp(news.json, "[\"across\"]") == 0);

    /* serverSideEmit: heard by two only; with an answer from two. */
    CHECK_OK(sio_server_server_side_emit(one, "hello", "[\"from one\"]", NULL, 0));
    CHECK(wait_count(NULL, &s2.side_events, 1, 10000));
    before = atomic_load(&s1.replies_done);
    CHECK_OK(sio_server_server_side_emit_with_ack(one, "hello", "[\"from one\"]", NULL, 0, 5000, on_reply, &s1,
                                                  NULL));
    CHECK(wait_count(NULL, &s1.replies_done, before + 1, 10000));
    CHECK(atomic_load(&s1.reply_status) == SIO_OK);
    CHECK(strcmp(s1.reply, "[{\"pong\":2}]") == 0);
    CHECK(atomic_load(&s1.side_events) == 0);

    cluster_wide(one, two);

    sio_client_free(b);
    sio_server_free(one);
    sio_server_free(two);
}

static void bad_cluster_options(void) {
    printf("-- cluster options that cannot work\n");
    fflush(stdout);
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    CHECK_ERR(sio_server_options_set_redis(opts, "redis://127.0.0.1:1", "gossip", NULL), SIO_ERR_INVALID_ARGUMENT,
              "flavour");
    sio_server *s = NULL;
    /* Nobody listens on port 1, whatever the flavour. */
    const char *flavours[] = {NULL, "sharded", "streams"};
    for (size_t i = 0; i < sizeof flavours / sizeof *flavours; i++) {
        CHECK_OK(sio_server_options_set_redis(opts, "redis://127.0.0.1:1", flavours[i], NULL));
        CHECK_ERR(sio_server_new(opts, &s), SIO_ERR_IO, "Redis");
        CHECK(s == NULL);
    }
    sio_server_options_free(opts);
}

int main(void) {
    one_server();
    bad_cluster_options();
    const char *redis = getenv("SIO_REDIS_URL");
    const char *f = getenv("SIO_REDIS_FLAVOUR");
    if (f && f[0]) flavour = f;
    if (redis && redis[0]) {
        two_servers(redis);
    } else {
        printf("-- two servers joined through Redis: skipped (SIO_REDIS_URL unset)\n");
    }
    return report("test_cluster");
}
