/* The client's connection from C: the auth callback, asked on every
 * connection attempt (answered now, later from another thread, wrongly,
 * or never), the manager's events (open, upgrade, ping, close, error), and
 * the fallback handlers of both sides.
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include "test_util.h"

#include <pthread.h>

/* Server: records each socket's auth token; answers the events nobody
 * handles with their name, and greets with an event the client has no
 * callback for. */
typedef struct {
    atomic_int connections, fallbacks;
    char last_token[64];
} srv_state;

static void srv_fallback(void *user_data, const sio_socket *s, const char *event, const sio_payload *args,
                         sio_ack *ack) {
    srv_state *st = user_data;
    (void)s;
    (void)args;
    atomic_fetch_add(&st->fallbacks, 1);
    char reply[96];
    snprintf(reply, sizeof reply, "[\"%s\"]", event);
    if (ack) CHECK_OK(sio_ack_send(ack, reply, NULL, 0));
}

static void srv_known(void *user_data, const sio_socket *s, const char *event, const sio_payload *args,
                      sio_ack *ack) {
    (void)user_data;
    (void)s;
    (void)event;
    (void)args;
    if (ack) CHECK_OK(sio_ack_send(ack, "[\"known\"]", NULL, 0));
}

static void srv_connection(void *user_data, const sio_socket *s) {
    srv_state *st = user_data;
    char *hs = NULL;
    CHECK_OK(sio_socket_handshake(s, &hs));
    const char *t = hs ? strstr(hs, "\"token\":\"") : NULL;
    if (t) {
        t += 9;
        size_t n = strcspn(t, "\"");
        snprintf(st->last_token, sizeof st->last_token, "%.*s", (int)n, t);
    } else {
        snprintf(st->last_token, sizeof st->last_token, "none");
    }
    sio_string_free(hs);
    CHECK_OK(sio_socket_on(s, "known", srv_known, NULL, NULL));
    CHECK_OK(sio_socket_on_fallback(s, srv_fallback, st, NULL));
    CHECK_OK(sio_socket_emit(s, "surprise", "[7]", NULL, 0));
    atomic_fetch_add(&st->connections, 1);
}

/* Client: an auth callback whose behaviour the test chooses. */
enum { ANSWER_NOW, ANSWER_LATER, ANSWER_BADLY, DROP };

typedef struct {
    atomic_int asked, mode;
    atomic_int done, status;
    atomic_int opens, upgrades, pings, closes, errors, surprises;
    char reply[96];
    char open_transport[16], upgrade_transport[16], close_reason[64];
} cli_state;

static void *answer_later(void *reply) {
    sleep_ms(50);
    CHECK_OK(sio_auth_reply_send(reply, "{\"token\":\"late\"}"));
    return NULL;
}

static void auth(void *user_data, sio_auth_reply *reply) {
    cli_state *st = user_data;
    int n = atomic_fetch_add(&st->asked, 1) + 1;
    switch (atomic_load(&st->mode)) {
    case ANSWER_NOW: {
        char json[64];
        snprintf(json, sizeof json, "{\"token\":\"t%d\"}", n);
        CHECK_OK(sio_auth_reply_send(reply, json));
        break;
    }
    case ANSWER_LATER: {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, answer_later, reply) == 0);
        pthread_detach(t);
        break;
    }
    case ANSWER_BADLY:
        CHECK_ERR(sio_auth_reply_send(reply, "[1]"), SIO_ERR_INVALID_ARGUMENT, "JSON object");
        break;
    default:
        sio_auth_reply_free(reply);
    }
}

static void on_manager(void *user_data, int kind, const char *text) {
    cli_state *st = user_data;
    switch (kind) {
    case SIO_MANAGER_OPEN:
        snprintf(st->open_transport, sizeof st->open_transport, "%s", text);
        atomic_fetch_add(&st->opens, 1);
        break;
    case SIO_MANAGER_UPGRADE:
        snprintf(st->upgrade_transport, sizeof st->upgrade_transport, "%s", text);
        atomic_fetch_add(&st->upgrades, 1);
        break;
    case SIO_MANAGER_PING:
        CHECK(text == NULL);
        atomic_fetch_add(&st->pings, 1);
        break;
    case SIO_MANAGER_CLOSE:
        snprintf(st->close_reason, sizeof st->close_reason, "%s", text);
        atomic_fetch_add(&st->closes, 1);
        break;
    case SIO_MANAGER_ERROR:
        CHECK(text != NULL);
        atomic_fetch_add(&st->errors, 1);
        break;
    default:
        CHECK(!"unknown manager event");
    }
}

static void on_done(void *user_data, int status, const char *error, const sio_payload *args) {
    cli_state *st = user_data;
    (void)error;
    (void)args;
    atomic_store(&st->status, status);
    atomic_store(&st->done, 1);
}

static void cli_fallback(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    cli_state *st = user_data;
    CHECK(strcmp(event, "surprise") == 0 && strcmp(args->json, "[7]") == 0);
    CHECK(ack == NULL);
    atomic_fetch_add(&st->surprises, 1);
}

static void cli_reply(void *user_data, int status, const char *error, const sio_payload *args) {
    cli_state *st = user_data;
    (void)error;
    snprintf(st->reply, sizeof st->reply, "%s", args->json);
    atomic_store(&st->status, status);
    atomic_store(&st->done, 1);
}

static void connect_once(sio_client *c, cli_state *st) {
    atomic_store(&st->done, 0);
    atomic_store(&st->status, 99);
    CHECK_OK(sio_client_connect(c, on_done, st, NULL));
    CHECK(wait_flag(NULL, &st->done, 10000));
}

int main(void) {
    srv_state srv;
    memset(&srv, 0, sizeof srv);
    sio_server_options *sopts = NULL;
    CHECK_OK(sio_server_options_new(&sopts));
    CHECK_OK(sio_server_options_set_ping_interval(sopts, 200));
    sio_server *server = NULL;
    CHECK_OK(sio_server_new(sopts, &server));
    sio_server_options_free(sopts);
    sio_namespace *root = NULL;
    CHECK_OK(sio_server_of(server, "/", &root));
    CHECK_OK(sio_namespace_on_connection(root, srv_connection, &srv, NULL));
    sio_namespace_free(root);
    CHECK_OK(sio_server_listen(server, "127.0.0.1:0"));
    uint16_t port = 0;
    CHECK_OK(sio_server_port(server, &port));
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);

    printf("-- auth asked on every connection, manager events\n");
    fflush(stdout);
    cli_state st;
    memset(&st, 0, sizeof st);
    sio_client_options *opts = NULL;
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_OK(sio_client_options_set_reconnection(opts, false));
    CHECK_OK(sio_client_options_set_timeout(opts, 2000));
    CHECK_OK(sio_client_options_set_auth(opts, "{\"token\":\"static\"}"));
    /* The callback takes the static object's place. */
    CHECK_OK(sio_client_options_set_auth_callback(opts, auth, &st, NULL));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, opts, &c));
    sio_client_options_free(opts);
    CHECK_OK(sio_client_on_manager_event(c, on_manager, &st, NULL));
    CHECK_OK(sio_client_on_fallback(c, cli_fallback, &st, NULL));

    connect_once(c, &st);
    CHECK(atomic_load(&st.status) == SIO_OK);
    CHECK(wait_count(NULL, &srv.connections, 1, 5000));
    CHECK(strcmp(srv.last_token, "t1") == 0);
    CHECK(wait_count(NULL, &st.opens, 1, 5000) && strcmp(st.open_transport, "polling") == 0);
    CHECK(wait_count(NULL, &st.upgrades, 1, 5000) && strcmp(st.upgrade_transport, "websocket") == 0);
    CHECK(wait_count(NULL, &st.pings, 1, 5000));

    /* Fallback handlers: the server's answers what nobody handles, the
     * client's gets the event it has no callback for. */
    CHECK(wait_count(NULL, &st.surprises, 1, 5000));
    const char *events[] = {"known", "unheard-of"};
    const char *replies[] = {"[\"known\"]", "[\"unheard-of\"]"};
    for (size_t i = 0; i < 2; i++) {
        atomic_store(&st.done, 0);
        CHECK_OK(sio_client_emit_with_ack(c, events[i], NULL, NULL, 0, 5000, cli_reply, &st, NULL));
        CHECK(wait_flag(NULL, &st.done, 10000));
        CHECK(atomic_load(&st.status) == SIO_OK && strcmp(st.reply, replies[i]) == 0);
    }
    CHECK(atomic_load(&srv.fallbacks) == 1);

    /* Connected again: asked again, a fresh token. */
    CHECK_OK(sio_client_disconnect(c));
    CHECK(wait_count(NULL, &st.closes, 1, 5000));
    CHECK(st.close_reason[0] != '\0');
    connect_once(c, &st);
    CHECK(atomic_load(&st.status) == SIO_OK);
    CHECK(wait_count(NULL, &srv.connections, 2, 5000));
    CHECK(strcmp(srv.last_token, "t2") == 0);

    /* Answered later, from another thread. */
    CHECK_OK(sio_client_disconnect(c));
    atomic_store(&st.mode, ANSWER_LATER);
    connect_once(c, &st);
    CHECK(atomic_load(&st.status) == SIO_OK);
    CHECK(wait_count(NULL, &srv.connections, 3, 5000));
    CHECK(strcmp(srv.last_token, "late") == 0);

    /* Not an object, or never answered: the attempt fails, no
     * connection is made. */
    int modes[] = {ANSWER_BADLY, DROP};
    for (size_t i = 0; i < 2; i++) {
        CHECK_OK(sio_client_disconnect(c));
        atomic_store(&st.mode, modes[i]);
        connect_once(c, &st);
        CHECK(atomic_load(&st.status) != SIO_OK);
        CHECK(atomic_load(&srv.connections) == 3);
    }
    CHECK(atomic_load(&st.asked) == 5);
    CHECK(sio_auth_reply_send(NULL, "{}") == SIO_ERR_INVALID_ARGUMENT);
    sio_auth_reply_free(NULL);
    sio_client_free(c);

    /* A server nobody listens on: the manager's error event. */
    cli_state bad;
    memset(&bad, 0, sizeof bad);
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_OK(sio_client_options_set_reconnection(opts, false));
    CHECK_OK(sio_client_new("http://127.0.0.1:9", opts, &c));
    sio_client_options_free(opts);
    CHECK_OK(sio_client_on_manager_event(c, on_manager, &bad, NULL));
    connect_once(c, &bad);
    CHECK(atomic_load(&bad.status) != SIO_OK);
    CHECK(wait_count(NULL, &bad.errors, 1, 5000));
    sio_client_free(c);

    sio_server_free(server);
    return report("test_client_manager");
}
