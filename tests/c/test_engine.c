/* The engine's options and hooks from C, checked on the wire with raw HTTP
 * requests: allowRequest (with the request view), the headers and
 * initial_headers hooks, connection_error, the session cookie, the whole
 * CORS policy (credentials, methods, allowed / exposed headers, max age)
 * with an allowed and a refused origin, httpCompression off, and a
 * socket's transport.
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include "test_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
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

int main(void) {
    engine_hooks();
    return report("test_engine");
}
