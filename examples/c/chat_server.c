/* A chat server in C on libsocketio: nicknames, one room at a time, typing
 * indicators and the online count — the protocol of the chat demo
 * (socketio/examples/chat.rs, examples/chat/public/index.html), so its page
 * and examples/c/chat_client.c both talk to it.
 *
 * Every callback runs on this program's one thread, inside sio_queue_poll:
 * per-member state needs no lock.
 *
 *   cargo build -p socketio-ffi
 *   cc -std=c11 -Iinclude examples/c/chat_server.c -o chat_server \
 *      -Ltarget/debug -lsocketio -Wl,-rpath,$PWD/target/debug
 *   ./chat_server [host:port]          (default 127.0.0.1:3000)
 *
 * Payloads are JSON text; this example keeps nicknames and room names in
 * their JSON-escaped form (what sits between the quotes), which it can
 * paste into new JSON strings as they are. */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketio.h"

#define MAX_NAME 32
#define MAX_TEXT 500

typedef struct {
    char nickname[8 * MAX_NAME]; /* JSON-escaped, without quotes */
    char room[8 * MAX_NAME];
} member;

static volatile sig_atomic_t stop;
static sio_namespace *chat;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static void fail(const char *what, int status) {
    fprintf(stderr, "%s: %s (%s)\n", what, sio_status_str(status), sio_last_error());
    exit(1);
}

/* The first argument, if it is a string, escaped form without its quotes,
 * capped at `max` characters of input; 0 if there is none or it is empty. */
static int first_string(const sio_payload *args, char *out, size_t size, size_t max) {
    const char *p = args->json;
    while (*p == '[' || *p == ' ') p++;
    if (*p != '"') return 0;
    p++;
    size_t o = 0, chars = 0;
    while (*p && *p != '"' && o + 7 < size && chars < max) {
        if (*p == '\\') {
            out[o++] = *p++;
            if (!*p) break;
        }
        out[o++] = *p++;
        chars++;
    }
    /* Trim surrounding spaces. */
    while (o > 0 && out[o - 1] == ' ') o--;
    out[o] = 0;
    size_t lead = strspn(out, " ");
    memmove(out, out + lead, o - lead + 1);
    return out[0] != 0;
}

static void to_room(const sio_socket *s, const char *room, const char *event, const char *json) {
    sio_broadcast *b = NULL;
    if (sio_socket_to(s, room, &b) == SIO_OK) {
        sio_broadcast_emit(b, event, json, NULL, 0);
        sio_broadcast_free(b);
    }
}

static void notice(const sio_socket *s, const char *room, const char *fmt, const char *a, const char *b) {
    char text[1024], json[1100];
    snprintf(text, sizeof text, fmt, a, b);
    snprintf(json, sizeof json, "[\"%s\"]", text);
    to_room(s, room, "notice", json);
}

static void broadcast_online(void) {
    size_t n = 0;
    sio_namespace_socket_count(chat, &n);
    char json[32];
    snprintf(json, sizeof json, "[%zu]", n);
    sio_namespace_emit(chat, "online", json, NULL, 0);
}

static void leave_room(const sio_socket *s, member *m) {
    char json[300];
    snprintf(json, sizeof json, "[{\"nickname\":\"%s\"}]", m->nickname);
    to_room(s, m->room, "stop typing", json);
    notice(s, m->room, "%s left #%s", m->nickname, m->room);
    sio_socket_leave(s, m->room);
}

static void reply(sio_ack *ack, const char *value) {
    if (!ack) return;
    char json[300];
    snprintf(json, sizeof json, "[\"%s\"]", value);
    sio_ack_send(ack, json, NULL, 0);
}

static void on_set_nickname(void *ud, const sio_socket *s, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)event;
    member *m = ud;
    char name[sizeof m->nickname];
    if (first_string(args, name, sizeof name, MAX_NAME) && strcmp(name, m->nickname) != 0) {
        notice(s, m->room, "%s is now %s", m->nickname, name);
        snprintf(m->nickname, sizeof m->nickname, "%s", name);
    }
    reply(ack, m->nickname);
}

static void on_join(void *ud, const sio_socket *s, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)event;
    member *m = ud;
    char room[sizeof m->room];
    if (first_string(args, room, sizeof room, MAX_NAME) && strcmp(room, m->room) != 0) {
        leave_room(s, m);
        snprintf(m->room, sizeof m->room, "%s", room);
        sio_socket_join(s, m->room);
        notice(s, m->room, "%s joined #%s", m->nickname, m->room);
    }
    reply(ack, m->room);
}

static void on_chat_message(void *ud, const sio_socket *s, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)s;
    (void)event;
    member *m = ud;
    char text[8 * MAX_TEXT], json[sizeof text + 700];
    if (first_string(args, text, sizeof text, MAX_TEXT)) {
        /* The whole room, sender included: everyone sees the same order. */
        snprintf(json, sizeof json, "[{\"nickname\":\"%s\",\"text\":\"%s\",\"room\":\"%s\"}]", m->nickname, text,
                 m->room);
        sio_broadcast *b = NULL;
        if (sio_namespace_to(chat, m->room, &b) == SIO_OK) {
            sio_broadcast_emit(b, "chat message", json, NULL, 0);
            sio_broadcast_free(b);
        }
    }
    if (ack) sio_ack_send(ack, NULL, NULL, 0);
}

static void on_typing(void *ud, const sio_socket *s, const char *event, const sio_payload *args, sio_ack *ack) {
    (void)args;
    member *m = ud;
    char json[300];
    snprintf(json, sizeof json, "[{\"nickname\":\"%s\"}]", m->nickname);
    to_room(s, m->room, event, json); /* the rest of the room: the typist knows */
    sio_ack_free(ack);
}

static void on_disconnect(void *ud, const sio_socket *s, const char *reason) {
    (void)reason;
    leave_room(s, ud);
    broadcast_online();
}

static void on_connection(void *ud, const sio_socket *s) {
    (void)ud;
    member *m = calloc(1, sizeof *m);
    if (!m) return;
    snprintf(m->nickname, sizeof m->nickname, "guest-%.4s", sio_socket_id(s));
    snprintf(m->room, sizeof m->room, "lobby");
    sio_socket_join(s, m->room);
    char json[600];
    snprintf(json, sizeof json, "[{\"nickname\":\"%s\",\"room\":\"%s\"}]", m->nickname, m->room);
    sio_socket_emit(s, "welcome", json, NULL, 0);
    broadcast_online();

    sio_socket_on(s, "set nickname", on_set_nickname, m, NULL);
    sio_socket_on(s, "join", on_join, m, NULL);
    sio_socket_on(s, "chat message", on_chat_message, m, NULL);
    sio_socket_on(s, "typing", on_typing, m, NULL);
    sio_socket_on(s, "stop typing", on_typing, m, NULL);
    /* The member is freed once the socket is gone and its callbacks ran. */
    sio_socket_on_disconnect(s, on_disconnect, m, free);
}

int main(int argc, char **argv) {
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:3000";
    if (sio_abi_version() != SIO_ABI_VERSION) {
        fprintf(stderr, "libsocketio ABI %u, header %u\n", sio_abi_version(), SIO_ABI_VERSION);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    int st;
    sio_queue *queue = NULL;
    sio_server_options *opts = NULL;
    sio_server *server = NULL;
    if ((st = sio_queue_new(&queue)) != SIO_OK) fail("queue", st);
    if ((st = sio_server_options_new(&opts)) != SIO_OK) fail("options", st);
    if ((st = sio_server_options_set_queue(opts, queue)) != SIO_OK) fail("options", st);
    if ((st = sio_server_options_set_cors_origin(opts, "*")) != SIO_OK) fail("options", st);
    if ((st = sio_server_new(opts, &server)) != SIO_OK) fail("server", st);
    sio_server_options_free(opts);
    if ((st = sio_server_of(server, "/", &chat)) != SIO_OK) fail("namespace", st);
    if ((st = sio_namespace_on_connection(chat, on_connection, NULL, NULL)) != SIO_OK) fail("on_connection", st);
    if ((st = sio_server_listen(server, addr)) != SIO_OK) fail("listen", st);
    uint16_t port = 0;
    sio_server_port(server, &port);
    printf("chat server on port %u (Ctrl-C to stop)\n", port);
    fflush(stdout);

    int fd = -1;
    sio_queue_fd(queue, &fd);
    while (!stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 500) > 0) sio_queue_poll(queue, 0, NULL);
    }

    sio_server_free(server);
    sio_namespace_free(chat);
    sio_queue_free(queue);
    return 0;
}
