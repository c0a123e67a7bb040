/* The engine's options and hooks from C, checked on the wire with raw HTTP
 * requests: allowRequest (with the request view), the headers and
 * initial_headers hooks, connection_error, the session cookie, the whole
 * CORS policy (credentials, methods, allowed / exposed headers, max age)
 * with an allowed and a refused origin, httpCompression off, a socket's
 * transport, and the server mounted in a host server of the test's own
 * (sio_server_serve_fd).
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include "test_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>

typedef struct {
    atomic_int allowed, refused, errors, connections;
    atomic_int last_code;
    char method[16];
    char url[128];
    char address[64];
    char error_message[128];
    char error_context[128];
    char transport[16];
    atomic_int recovered;
} state;

/* Lets through the requests that carry "x-token: good". */
static const char *allow(void *user_data, const sio_request *req) {
    state *st = user_data;
    snprintf(st->method, sizeof st->method, "%s", sio_request_method(req));
    snprintf(st->url, sizeof st->url, "%s", sio_request_url(req));
    const char *addr = sio_request_remote_address(req);
    snprintf(st->address, sizeof st->address, "%s", addr ? addr : "");
    const char *token = sio_request_header(req, "X-Token");
    if (token && strcmp(token, "good") == 0) {
        atomic_fetch_add(&st->allowed, 1);
        return NULL;
    }
    atomic_fetch_add(&st->refused, 1);
    return "no token";
}

static void initial_headers(void *user_data, const sio_request *req, sio_headers *h) {
    (void)user_data;
    CHECK(strcmp(sio_request_method(req), "GET") == 0);
    CHECK_OK(sio_headers_set(h, "x-initial", "1"));
    CHECK_ERR(sio_headers_set(h, "bad name", "v"), SIO_ERR_INVALID_ARGUMENT, "header name");
}

static void every_headers(void *user_data, const sio_request *req, sio_headers *h) {
    (void)user_data;
    (void)req;
    CHECK_OK(sio_headers_set(h, "x-custom", "yes"));
}

static void on_error(void *user_data, const sio_request *req, int code, const char *message,
                     const char *context) {
    state *st = user_data;
    CHECK(req != NULL && sio_request_url(req) != NULL);
    snprintf(st->error_message, sizeof st->error_message, "%s", message);
    snprintf(st->error_context, sizeof st->error_context, "%s", context);
    atomic_store(&st->last_code, code);
    atomic_fetch_add(&st->errors, 1);
}

static void on_connection(void *user_data, const sio_socket *s) {
    state *st = user_data;
    snprintf(st->transport, sizeof st->transport, "%s", sio_socket_transport(s));
    atomic_store(&st->recovered, sio_socket_recovered(s) ? 1 : 0);
    atomic_fetch_add(&st->connections, 1);
}

/* Sends `request` to 127.0.0.1:port and reads the answer (the server
 * closes: "Connection: close"); lower-cased into `out`. */
static void http(uint16_t port, const char *request, char *out, size_t cap) {
    out[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    if (fd < 0) return;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    size_t len = strlen(request);
    CHECK(write(fd, request, len) == (ssize_t)len);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(fd, out + n, cap - 1 - n)) > 0) n += (size_t)got;
    out[n] = '\0';
    close(fd);
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)out[i]);
}

static void handshake(uint16_t port, const char *extra, char *out, size_t cap) {
    char req[512];
    snprintf(req, sizeof req,
             "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
             "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n",
             extra);
    http(port, req, out, cap);
}

static void engine_hooks(void) {
    printf("-- allowRequest, headers, connection_error, cookie, CORS\n");
    fflush(stdout);
    state st;
    memset(&st, 0, sizeof st);
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    /* Parts of a CORS policy without its origins: refused, not ignored. */
    CHECK_ERR(sio_server_options_set_cors_credentials(opts, true), SIO_ERR_INVALID_ARGUMENT, "origins first");
    CHECK_ERR(sio_server_options_set_cors_headers(opts, "GET", NULL, NULL, 60), SIO_ERR_INVALID_ARGUMENT,
              "origins first");
    CHECK_ERR(sio_server_options_set_cookie(opts, "sid", NULL, true, "sometimes", false, -1),
              SIO_ERR_INVALID_ARGUMENT, "SameSite");
    CHECK_OK(sio_server_options_set_cors_origin(opts, "http://good.example"));
    CHECK_OK(sio_server_options_set_cors_credentials(opts, true));
    CHECK_OK(sio_server_options_set_cors_headers(opts, "GET,POST", "x-token", "x-custom", 600));
    CHECK_OK(sio_server_options_set_cookie(opts, "sid", NULL, true, "Strict", false, -1));
    CHECK_OK(sio_server_options_set_upgrade_timeout(opts, 5000));
    CHECK_OK(sio_server_options_set_http_compression(opts, false, 0));
    /* Offered by none of this test's clients: everything stays plain. */
    CHECK_OK(sio_server_options_set_per_message_deflate(opts, true, 1024));
    CHECK_OK(sio_server_options_set_allow_request(opts, allow, &st, NULL));
    CHECK_OK(sio_server_options_set_headers(opts, true, initial_headers, NULL, NULL));
    CHECK_OK(sio_server_options_set_headers(opts, false, every_headers, NULL, NULL));
    CHECK_OK(sio_server_options_on_connection_error(opts, on_error, &st, NULL));
    sio_server *server = NULL;
    CHECK_OK(sio_server_new(opts, &server));
    sio_server_options_free(opts);
    if (!server) return;
    sio_namespace *root = NULL;
    CHECK_OK(sio_server_of(server, "/", &root));
    CHECK_OK(sio_namespace_on_connection(root, on_connection, &st, NULL));
    sio_namespace_free(root);
    CHECK_OK(sio_server_listen(server, "127.0.0.1:0"));
    uint16_t port = 0;
    CHECK_OK(sio_server_port(server, &port));

    static char res[16384];
    /* Allowed, from an allowed origin: every header of the policy. */
    handshake(port, "X-Token: good\r\nOrigin: http://good.example\r\n", res, sizeof res);
    CHECK(strncmp(res, "http/1.1 200", 12) == 0);
    CHECK(strstr(res, "\r\nx-initial: 1\r\n") != NULL);
    CHECK(strstr(res, "\r\nx-custom: yes\r\n") != NULL);
    CHECK(strstr(res, "\r\nset-cookie: sid=") != NULL);
    CHECK(strstr(res, "; path=/; httponly; samesite=strict") != NULL);
    CHECK(strstr(res, "\r\naccess-control-allow-origin: http://good.example\r\n") != NULL);
    CHECK(strstr(res, "\r\naccess-control-allow-credentials: true\r\n") != NULL);
    CHECK(strstr(res, "\r\naccess-control-expose-headers: x-custom\r\n") != NULL);
    CHECK(strstr(res, "content-encoding") == NULL);
    CHECK(atomic_load(&st.allowed) == 1);
    CHECK(strcmp(st.method, "GET") == 0);
    CHECK(strncmp(st.url, "/socket.io/?EIO=4&transport=polling", 35) == 0);
    CHECK(strcmp(st.address, "127.0.0.1") == 0);

    /* From another origin: no Access-Control-Allow-Origin, so the browser
     * refuses it (the `cors` package sends the other headers regardless). */
    handshake(port, "X-Token: good\r\nOrigin: http://evil.example\r\n", res, sizeof res);
    CHECK(strstr(res, "access-control-allow-origin") == NULL);

    /* The preflight: methods, allowed headers, max age. */
    http(port,
         "OPTIONS /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         "Origin: http://good.example\r\nAccess-Control-Request-Method: POST\r\n"
         "Access-Control-Request-Headers: x-token\r\nConnection: close\r\n\r\n",
         res, sizeof res);
    CHECK(strncmp(res, "http/1.1 204", 12) == 0);
    CHECK(strstr(res, "\r\naccess-control-allow-methods: get,post\r\n") != NULL);
    CHECK(strstr(res, "\r\naccess-control-allow-headers: x-token\r\n") != NULL);
    CHECK(strstr(res, "\r\naccess-control-max-age: 600\r\n") != NULL);

    /* Refused by allowRequest: 403 with its message, told to
     * connection_error. */
    handshake(port, "", res, sizeof res);
    CHECK(strncmp(res, "http/1.1 403", 12) == 0);
    CHECK(strstr(res, "{\"code\":4,\"message\":\"no token\"}") != NULL);
    CHECK(wait_count(NULL, &st.errors, 1, 5000));
    CHECK(atomic_load(&st.last_code) == 4);
    CHECK(strcmp(st.error_message, "no token") == 0);

    /* An unknown transport: code 0, the transport in the context. */
    http(port,
         "GET /socket.io/?EIO=4&transport=carrier-pigeon HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         "X-Token: good\r\nConnection: close\r\n\r\n",
         res, sizeof res);
    CHECK(strncmp(res, "http/1.1 400", 12) == 0);
    CHECK(wait_count(NULL, &st.errors, 2, 5000));
    CHECK(atomic_load(&st.last_code) == 0);
    CHECK(strcmp(st.error_message, "Transport unknown") == 0);
    CHECK(strcmp(st.error_context, "{\"transport\":\"carrier-pigeon\"}") == 0);

    /* A C client over WebSocket: its socket says so. */
    sio_client_options *copts = NULL;
    CHECK_OK(sio_client_options_new(&copts));
    CHECK_OK(sio_client_options_add_header(copts, "x-token", "good"));
    CHECK_OK(sio_client_options_set_transports(copts, SIO_TRANSPORT_WEBSOCKET));
    CHECK_OK(sio_client_options_set_reconnection(copts, false));
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, copts, &c));
    sio_client_options_free(copts);
    CHECK_OK(sio_client_connect(c, NULL, NULL, NULL));
    CHECK(wait_count(NULL, &st.connections, 1, 10000));
    CHECK(strcmp(st.transport, "websocket") == 0);
    CHECK(atomic_load(&st.recovered) == 0);
    CHECK(sio_socket_transport(NULL) == NULL && !sio_socket_recovered(NULL));
    sio_client_free(c);

    /* Hooks removed again: NULL callbacks. */
    CHECK_OK(sio_server_options_new(&opts));
    CHECK_OK(sio_server_options_set_allow_request(opts, NULL, NULL, NULL));
    CHECK_OK(sio_server_options_clear_cookie(opts));
    sio_server_options_free(opts);

    CHECK_OK(sio_server_close(server, NULL, NULL, NULL));
    sio_server_free(server);
}

/* ------------------------------------------------------------------------ */
/* Mounting: a host HTTP server of our own hands its Socket.IO connections  */
/* over with sio_server_serve_fd and answers the rest itself.               */

typedef struct {
    int listen_fd;
    atomic_int stop, handed, answered, active;
    sio_server *server;
} host_state;

typedef struct {
    host_state *h;
    int fd;
} host_conn;

/* One accepted connection, on a thread of its own as a real host serves
 * them: a client may open a connection and send on it only later. */
static void *host_connection(void *arg) {
    host_conn *c = arg;
    host_state *h = c->h;
    int fd = c->fd;
    free(c);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    /* Read the request head, as a host server would. */
    char head[4096];
    size_t n = 0;
    head[0] = '\0';
    while (n < sizeof head - 1) {
        ssize_t got = read(fd, head + n, sizeof head - 1 - n);
        if (got <= 0) break;
        n += (size_t)got;
        head[n] = '\0';
        if (strstr(head, "\r\n\r\n")) break;
    }
    if (n == 0) {
        close(fd); /* opened and never used */
    } else if (strstr(head, " /socket.io/") != NULL) {
        atomic_fetch_add(&h->handed, 1);
        CHECK_OK(sio_server_serve_fd(h->server, fd, (const uint8_t *)head, n));
    } else {
        const char *res = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nhost";
        CHECK(write(fd, res, strlen(res)) == (ssize_t)strlen(res));
        close(fd);
        atomic_fetch_add(&h->answered, 1);
    }
    atomic_fetch_sub(&h->active, 1);
    return NULL;
}

static void *host_loop(void *arg) {
    host_state *h = arg;
    while (!atomic_load(&h->stop)) {
        struct pollfd p = {.fd = h->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(h->listen_fd, NULL, NULL);
        if (fd < 0) continue;
        host_conn *c = malloc(sizeof *c);
        c->h = h;
        c->fd = fd;
        atomic_fetch_add(&h->active, 1);
        pthread_t t;
        if (pthread_create(&t, NULL, host_connection, c) == 0) {
            pthread_detach(t);
        } else {
            CHECK(!"pthread_create");
            atomic_fetch_sub(&h->active, 1);
            close(fd);
            free(c);
        }
    }
    return NULL;
}

static void echo(void *user_data, const sio_socket *s, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)user_data;
    (void)s;
    (void)event;
    if (ack) CHECK_OK(sio_ack_send(ack, args->json, NULL, 0));
}

static void mount_connection(void *user_data, const sio_socket *s) {
    state *st = user_data;
    CHECK_OK(sio_socket_on(s, "echo", echo, NULL, NULL));
    atomic_fetch_add(&st->connections, 1);
}

typedef struct {
    atomic_int done, status;
    char reply[64];
} reply_state;

static void on_reply(void *user_data, int status, const char *error, const sio_payload *args) {
    reply_state *r = user_data;
    (void)error;
    snprintf(r->reply, sizeof r->reply, "%s", args->json);
    atomic_store(&r->status, status);
    atomic_store(&r->done, 1);
}

static void mounted(void) {
    printf("-- mounted in a host server (sio_server_serve_fd)\n");
    fflush(stdout);
    state st;
    memset(&st, 0, sizeof st);
    host_state h;
    memset(&h, 0, sizeof h);
    sio_server_options *opts = NULL;
    CHECK_OK(sio_server_options_new(&opts));
    CHECK_OK(sio_server_new(opts, &h.server));
    sio_server_options_free(opts);
    sio_namespace *root = NULL;
    CHECK_OK(sio_server_of(h.server, "/", &root));
    CHECK_OK(sio_namespace_on_connection(root, mount_connection, &st, NULL));
    sio_namespace_free(root);

    /* Bad input: the descriptor is the library's even then. */
    CHECK_ERR(sio_server_serve_fd(h.server, -1, NULL, 0), SIO_ERR_INVALID_ARGUMENT, "file descriptor");
    int spare = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR(sio_server_serve_fd(h.server, spare, NULL, 5), SIO_ERR_INVALID_ARGUMENT, "head is NULL");
    CHECK(fcntl(spare, F_GETFD) == -1); /* closed */

    h.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(h.listen_fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(h.listen_fd, 16) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(h.listen_fd, (struct sockaddr *)&a, &len) == 0);
    uint16_t port = ntohs(a.sin_port);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, host_loop, &h) == 0);

    /* The host's own page. */
    static char res[4096];
    http(port, "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", res, sizeof res);
    CHECK(strstr(res, "\r\n\r\nhost") != NULL);

    /* A client of the host: polling, then the upgrade, on handed-over
     * connections; an acknowledged event. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    sio_client_options *copts = NULL;
    CHECK_OK(sio_client_options_new(&copts));
    CHECK_OK(sio_client_options_set_reconnection(copts, false));
    sio_client *c = NULL;
    CHECK_OK(sio_client_new(url, copts, &c));
    sio_client_options_free(copts);
    reply_state r;
    memset(&r, 0, sizeof r);
    CHECK_OK(sio_client_connect(c, on_reply, &r, NULL));
    CHECK(wait_flag(NULL, &r.done, 10000));
    CHECK(atomic_load(&r.status) == SIO_OK);
    CHECK(wait_count(NULL, &st.connections, 1, 5000));
    atomic_store(&r.done, 0);
    CHECK_OK(sio_client_emit_with_ack(c, "echo", "[\"via the host\"]", NULL, 0, 5000, on_reply, &r, NULL));
    CHECK(wait_flag(NULL, &r.done, 10000));
    CHECK(atomic_load(&r.status) == SIO_OK && strcmp(r.reply, "[\"via the host\"]") == 0);
    CHECK(atomic_load(&h.handed) >= 2); /* the handshake and the upgrade at least */
    CHECK(atomic_load(&h.answered) == 1);
    sio_client_free(c);

    atomic_store(&h.stop, 1);
    pthread_join(thread, NULL);
    close(h.listen_fd);
    /* Connections the client opened and left unused end by timeout. */
    long end = now_ms() + 15000;
    while (atomic_load(&h.active) > 0 && now_ms() < end) sleep_ms(20);
    CHECK(atomic_load(&h.active) == 0);
    CHECK_OK(sio_server_close(h.server, NULL, NULL, NULL));
    sio_server_free(h.server);
}

int main(void) {
    engine_hooks();
    mounted();
    return report("test_engine");
}
