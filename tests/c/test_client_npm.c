/* The C API's client against the npm `socket.io` server (tests/node/
 * server-sio.mjs): auth, events and acks both ways with buffers, a server
 * that asks the client, a server-side disconnect and a refusal with data,
 * over each transport and with the msgpack parser. Callbacks run through an
 * event queue pumped here.
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include "test_util.h"

/* The node server: its pid, the pipe to its stdin (closing it stops the
 * server) and the port it listens on. */
typedef struct {
    pid_t pid;
    int stdin_fd;
    unsigned port;
} peer;

/* Starts `node server-sio.mjs <options>` with its output going to a
 * scratch file (a pipe left unread would block it), and reads {"port": N}
 * from the file's first line. */
static int start_peer(const char *options, peer *p) {
    const char *dir = getenv("SIO_NODE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/server-sio.mjs", dir ? dir : "tests/node");
    char log[] = "/tmp/sio-npm-peer-XXXXXX";
    int out = mkstemp(log);
    if (out < 0) return 0;
    unlink(log);
    int in[2];
    if (pipe(in) != 0) {
        close(out);
        return 0;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    char *argv[] = {"node", path, (char *)options, NULL};
    int rc = posix_spawnp(&p->pid, "node", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    if (rc != 0) {
        close(out);
        close(in[1]);
        return 0;
    }
    p->stdin_fd = in[1];
    char line[256] = {0};
    long end = now_ms() + 20000;
    while (now_ms() < end) {
        ssize_t n = pread(out, line, sizeof line - 1, 0);
        if (n > 0) {
            line[n] = 0;
            if (strchr(line, '\n')) break;
        }
        sleep_ms(20);
    }
    close(out);
    const char *colon = strchr(line, ':');
    p->port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
    return p->port != 0;
}

/* Closes the server's stdin (it exits) and reaps it. */
static void stop_peer(peer *p) {
    close(p->stdin_fd);
    CHECK(wait_child(NULL, p->pid, 10000) == 0);
}

typedef struct {
    atomic_int auth, echo, answer, binary, disconnects, done, done_status;
    char auth_json[128];
    char echo_json[128];
    size_t echo_bins;
    char answer_json[128];
    char reply[256];
    size_t reply_bins;
    char error[128];
    char reason[64];
    int bins_ok;
} state;

static void reset(state *st) {
    atomic_store(&st->done, 0);
    atomic_store(&st->done_status, 99);
    st->reply[0] = 0;
    st->error[0] = 0;
}

static void on_auth(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    state *st = user_data;
    (void)event;
    CHECK(ack == NULL);
    snprintf(st->auth_json, sizeof st->auth_json, "%s", args->json);
    atomic_fetch_add(&st->auth, 1);
}

static void on_echo(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    state *st = user_data;
    (void)event;
    CHECK(ack == NULL);
    snprintf(st->echo_json, sizeof st->echo_json, "%s", args->json);
    st->echo_bins = args->n_bins;
    if (args->n_bins == 1) CHECK(args->bins[0].len == 2 && args->bins[0].data[1] == 0xfe);
    atomic_fetch_add(&st->echo, 1);
}

/* The server's question: answered with its first argument and a buffer. */
static void on_question(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)user_data;
    (void)event;
    CHECK(strcmp(args->json, "[\"why\"]") == 0);
    CHECK(ack != NULL);
    if (ack) CHECK_OK(sio_ack_send(ack, "[\"because\",42]", NULL, 0));
}

static void on_answer(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    state *st = user_data;
    (void)event;
    (void)ack;
    snprintf(st->answer_json, sizeof st->answer_json, "%s", args->json);
    atomic_fetch_add(&st->answer, 1);
}

static void on_binary(void *user_data, const char *event, const sio_payload *args, sio_ack *ack) {
    state *st = user_data;
    (void)event;
    (void)ack;
    st->bins_ok = strcmp(args->json, "[" SIO_BIN(0) ",{\"nested\":" SIO_BIN(1) "}]") == 0 &&
                  args->n_bins == 2 && args->bins[0].len == 3 && args->bins[0].data[2] == 3 &&
                  args->bins[1].len == 2 && args->bins[1].data[0] == 4;
    atomic_fetch_add(&st->binary, 1);
}

static void on_disconnect(void *user_data, const char *reason) {
    state *st = user_data;
    snprintf(st->reason, sizeof st->reason, "%s", reason);
    atomic_fetch_add(&st->disconnects, 1);
}

static void on_done(void *user_data, int status, const char *error, const sio_payload *args) {
    state *st = user_data;
    snprintf(st->error, sizeof st->error, "%s", error ? error : "");
    snprintf(st->reply, sizeof st->reply, "%s", args->json);
    st->reply_bins = args->n_bins;
    atomic_store(&st->done_status, status);
    atomic_store(&st->done, 1);
}

/* One conversation with the npm server over `transports`. */
static void conversation(const char *label, uint32_t transports, int msgpack) {
    printf("-- C client with the npm socket.io server: %s\n", label);
    fflush(stdout);
    peer p;
    memset(&p, 0, sizeof p);
    CHECK(start_peer(msgpack ? "{\"msgpack\":true}" : "{}", &p));
    if (!p.port) return;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", p.port);

    state st;
    memset(&st, 0, sizeof st);
    sio_queue *q = NULL;
    CHECK_OK(sio_queue_new(&q));
    sio_client_options *opts = NULL;
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_OK(sio_client_options_set_queue(opts, q));
    CHECK_OK(sio_client_options_set_transports(opts, transports));
    CHECK_OK(sio_client_options_set_msgpack(opts, msgpack));
    CHECK_OK(sio_client_options_set_reconnection(opts, false));
    CHECK_OK(sio_client_options_set_auth(opts, "{\"user\":\"c\"}"));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, opts, &c));
    sio_client_options_free(opts);
    CHECK_OK(sio_client_on(c, "auth", on_auth, &st, NULL));
    CHECK_OK(sio_client_on(c, "echo", on_echo, &st, NULL));
    CHECK_OK(sio_client_on(c, "question", on_question, &st, NULL));
    CHECK_OK(sio_client_on(c, "answer", on_answer, &st, NULL));
    CHECK_OK(sio_client_on(c, "binary", on_binary, &st, NULL));
    CHECK_OK(sio_client_on_disconnect(c, on_disconnect, &st, NULL));

    reset(&st);
    CHECK_OK(sio_client_connect(c, on_done, &st, NULL));
    CHECK(wait_flag(q, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_OK);

    /* The CONNECT payload reached the server as handshake.auth. */
    CHECK(wait_count(q, &st.auth, 1, 10000));
    CHECK(strcmp(st.auth_json, "[{\"user\":\"c\"}]") == 0);

    /* The server's ack returns every argument, the buffer too. */
    reset(&st);
    sio_buf abc = {(const uint8_t *)"abc", 3};
    CHECK_OK(sio_client_emit_with_ack(c, "ack", "[\"x\"," SIO_BIN(0) "]", &abc, 1, 5000, on_done, &st,
                                      NULL));
    CHECK(wait_flag(q, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_OK);
    CHECK(strcmp(st.reply, "[\"x\"," SIO_BIN(0) "]") == 0 && st.reply_bins == 1);

    /* An event echoed back, with a nested buffer. */
    static const uint8_t FE[] = {0, 0xfe};
    sio_buf fe = {FE, 2};
    CHECK_OK(sio_client_emit(c, "echo", "[1,{\"b\":" SIO_BIN(0) "}]", &fe, 1));
    CHECK(wait_count(q, &st.echo, 1, 10000));
    CHECK(strcmp(st.echo_json, "[1,{\"b\":" SIO_BIN(0) "}]") == 0 && st.echo_bins == 1);

    /* The server asks, the client answers, the server reports the answer. */
    CHECK_OK(sio_client_emit(c, "ask", "[\"why\"]", NULL, 0));
    CHECK(wait_count(q, &st.answer, 1, 10000));
    CHECK(strcmp(st.answer_json, "[[\"because\",42]]") == 0);

    /* Buffers from the server, one nested. */
    CHECK_OK(sio_client_emit(c, "binary", NULL, NULL, 0));
    CHECK(wait_count(q, &st.binary, 1, 10000));
    CHECK(st.bins_ok);

    /* The transport the server sees. */
    reset(&st);
    CHECK_OK(sio_client_emit_with_ack(c, "info", NULL, NULL, 0, 5000, on_done, &st, NULL));
    CHECK(wait_flag(q, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_OK);
    if (transports == SIO_TRANSPORT_POLLING) {
        CHECK(strstr(st.reply, "\"transport\":\"polling\"") != NULL);
    } else if (transports == SIO_TRANSPORT_WEBSOCKET) {
        CHECK(strstr(st.reply, "\"transport\":\"websocket\"") != NULL);
    }

    /* No answer from the server: a timeout with its status. */
    reset(&st);
    CHECK_OK(sio_client_emit_with_ack(c, "noack", NULL, NULL, 0, 150, on_done, &st, NULL));
    CHECK(wait_flag(q, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_ERR_TIMEOUT);

    /* The server disconnects the socket. */
    CHECK_OK(sio_client_emit(c, "disconnect-me", NULL, NULL, 0));
    CHECK(wait_count(q, &st.disconnects, 1, 10000));
    CHECK(strcmp(st.reason, "io server disconnect") == 0);
    CHECK(!sio_client_connected(c));

    sio_client_free(c);
    pump(q, 20);
    sio_queue_free(q);
    stop_peer(&p);
}

/* A namespace whose middleware refuses: SIO_ERR_REFUSED with the server's
 * message and data. */
static void refused(void) {
    printf("-- C client refused by an npm socket.io middleware\n");
    fflush(stdout);
    peer p;
    memset(&p, 0, sizeof p);
    CHECK(start_peer("{}", &p));
    if (!p.port) return;
    char url[80];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/refuse", p.port);
    state st;
    memset(&st, 0, sizeof st);
    sio_client_options *opts = NULL;
    CHECK_OK(sio_client_options_new(&opts));
    CHECK_OK(sio_client_options_set_reconnection(opts, false));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, opts, &c));
    sio_client_options_free(opts);
    reset(&st);
    CHECK_OK(sio_client_connect(c, on_done, &st, NULL));
    CHECK(wait_flag(NULL, &st.done, 10000));
    CHECK(atomic_load(&st.done_status) == SIO_ERR_REFUSED);
    CHECK(strcmp(st.error, "refused") == 0);
    CHECK(strcmp(st.reply, "[{\"code\":42}]") == 0);
    CHECK(!sio_client_connected(c));
    sio_client_free(c);
    stop_peer(&p);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    conversation("polling then websocket", SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET, 0);
    conversation("polling only", SIO_TRANSPORT_POLLING, 0);
    conversation("websocket only", SIO_TRANSPORT_WEBSOCKET, 0);
    conversation("websocket, msgpack parser", SIO_TRANSPORT_WEBSOCKET, 1);
    refused();
    return report("test_client_npm");
}
