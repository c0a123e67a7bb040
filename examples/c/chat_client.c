/* A terminal client for the chat server (examples/c/chat_server.c, or the
 * Rust demo socketio/examples/chat.rs), in C on libsocketio.
 *
 *   ./chat_client [url] [nickname]     (default http://127.0.0.1:3000)
 *
 * Type a line to send it; "/nick NAME" and "/join ROOM" do what they say;
 * end of input quits (once the server has echoed the last line and answered
 * the nickname changes).
 *
 * One thread: poll(2) waits on standard input and on the event queue's file
 * descriptor together; every callback runs inside sio_queue_poll. */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "socketio.h"

/* Whether the last line sent came back from the server yet; how many
 * acknowledgements are awaited. */
static int sent, echoed, pending, connected, done;
static char me[256] = "";
static char last_sent[2048] = "";

/* `"key":"value"` of a flat JSON text, value copied without unescaping. */
static const char *field(const char *json, const char *key, char *out, size_t size) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    out[0] = 0;
    if (!p) return out;
    p += strlen(pat);
    size_t o = 0;
    while (*p && *p != '"' && o + 1 < size) {
        if (*p == '\\' && p[1]) out[o++] = *p++;
        out[o++] = *p++;
    }
    out[o] = 0;
    return out;
}

static void on_event(void *ud, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)ud;
    char a[256], b[1024];
    if (strcmp(event, "chat message") == 0) {
        field(args->json, "nickname", a, sizeof a);
        printf("%s: %s\n", a, field(args->json, "text", b, sizeof b));
        if (strcmp(b, last_sent) == 0) echoed++;
    } else if (strcmp(event, "welcome") == 0) {
        printf("* you are %s in #%s\n", field(args->json, "nickname", a, sizeof a),
               field(args->json, "room", b, sizeof b));
        if (!me[0]) snprintf(me, sizeof me, "%s", a);
    } else if (strcmp(event, "notice") == 0) {
        printf("* %.*s\n", (int)(args->json_len > 4 ? args->json_len - 4 : 0), args->json + 2);
    } else if (strcmp(event, "online") == 0) {
        printf("* online: %.*s\n", (int)(args->json_len > 2 ? args->json_len - 2 : 0), args->json + 1);
    }
    fflush(stdout);
    sio_ack_free(ack);
}

static void on_nick(void *ud, int status, const char *error, const sio_payload *args) {
    (void)ud;
    pending--;
    if (status != SIO_OK) {
        printf("* nickname not set: %s\n", error);
    } else {
        /* The name the server kept: ["name"]. */
        snprintf(me, sizeof me, "%.*s", (int)(args->json_len > 4 ? args->json_len - 4 : 0), args->json + 2);
        printf("* you are now %s\n", me);
    }
    fflush(stdout);
}

static void on_connect(void *ud) {
    (void)ud;
    connected = 1;
}

static void on_disconnect(void *ud, const char *reason) {
    (void)ud;
    printf("* disconnected: %s\n", reason);
    fflush(stdout);
}

static void on_reconnect(void *ud, int kind, uint32_t attempt, const char *error) {
    (void)ud;
    if (kind == SIO_RECONNECT_ATTEMPT) printf("* reconnecting (attempt %u)\n", attempt);
    if (kind == SIO_RECONNECT_SUCCESS) printf("* reconnected\n");
    if (kind == SIO_RECONNECT_FAILED) done = 1;
    (void)error;
    fflush(stdout);
}

static void on_connected(void *ud, int status, const char *error, const sio_payload *args) {
    (void)ud;
    (void)args;
    if (status != SIO_OK) {
        fprintf(stderr, "cannot connect: %s\n", error);
        done = 1;
    }
}

/* `s` as a JSON array of one string. */
static void one_string(const char *s, char *out, size_t size) {
    size_t o = 0;
    out[o++] = '[';
    out[o++] = '"';
    for (; *s && o + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o++] = ']';
    out[o] = 0;
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:3000";
    sio_queue *q = NULL;
    sio_client_options *opts = NULL;
    sio_client *c = NULL;
    if (sio_queue_new(&q) || sio_client_options_new(&opts) || sio_client_options_set_queue(opts, q) ||
        sio_client_options_set_reconnection_attempts(opts, 5) || sio_client_new(url, opts, &c)) {
        fprintf(stderr, "setup: %s\n", sio_last_error());
        return 1;
    }
    sio_client_options_free(opts);
    const char *events[] = {"welcome", "chat message", "notice", "online"};
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) sio_client_on(c, events[i], on_event, NULL, NULL);
    sio_client_on_connect(c, on_connect, NULL, NULL);
    sio_client_on_disconnect(c, on_disconnect, NULL, NULL);
    sio_client_on_reconnect(c, on_reconnect, NULL, NULL);
    if (sio_client_connect(c, on_connected, NULL, NULL) != SIO_OK) {
        fprintf(stderr, "connect: %s\n", sio_last_error());
        return 1;
    }
    if (argc > 2) {
        char json[300];
        one_string(argv[2], json, sizeof json);
        if (sio_client_emit_with_ack(c, "set nickname", json, NULL, 0, 5000, on_nick, NULL, NULL) == SIO_OK) pending++;
    }

    int qfd = -1;
    sio_queue_fd(q, &qfd);
    int input_open = 1;
    long quit_at = 0;
    char line[2048];
    size_t len = 0;
    while (!done) {
        struct pollfd p[2] = {{.fd = qfd, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
        int n = poll(p, input_open ? 2 : 1, 100);
        if (n > 0 && (p[0].revents & POLLIN)) sio_queue_poll(q, 0, NULL);
        if (input_open && connected && n > 0 && (p[1].revents & (POLLIN | POLLHUP))) {
            ssize_t r = read(STDIN_FILENO, line + len, sizeof line - 1 - len);
            if (r <= 0) {
                input_open = 0;
                quit_at = now_ms() + 10000; /* waits for the answers, at most 10 s */
            } else {
                len += (size_t)r;
            }
            char *nl;
            while ((nl = memchr(line, '\n', len)) != NULL) {
                *nl = 0;
                char json[4200];
                if (strncmp(line, "/nick ", 6) == 0) {
                    one_string(line + 6, json, sizeof json);
                    if (sio_client_emit_with_ack(c, "set nickname", json, NULL, 0, 5000, on_nick, NULL, NULL) ==
                        SIO_OK)
                        pending++;
                } else if (strncmp(line, "/join ", 6) == 0) {
                    one_string(line + 6, json, sizeof json);
                    sio_client_emit(c, "join", json, NULL, 0);
                } else if (line[0]) {
                    one_string(line, json, sizeof json);
                    if (sio_client_emit(c, "chat message", json, NULL, 0) == SIO_OK) {
                        snprintf(last_sent, sizeof last_sent, "%s", line);
                        sent = 1;
                        echoed = 0;
                    }
                }
                size_t used = (size_t)(nl - line) + 1;
                memmove(line, nl + 1, len - used);
                len -= used;
            }
        }
        if (!input_open && ((echoed >= sent && pending == 0) || now_ms() > quit_at)) done = 1;
    }
    sio_client_free(c);
    sio_queue_free(q);
    return 0;
}
