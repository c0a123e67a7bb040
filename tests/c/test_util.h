/* Helpers shared by the C tests: checks counted atomically (callbacks run
 * on several threads), a child process for the node peer, tiny JSON
 * helpers (the tests' payloads are simple), and waiting with or without an
 * event queue to pump. */
#ifndef SIO_TEST_UTIL_H
#define SIO_TEST_UTIL_H

#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "socketio.h"

extern char **environ;

static atomic_int g_passed;
static atomic_int g_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            atomic_fetch_add(&g_passed, 1);                                      \
        } else {                                                                 \
            atomic_fetch_add(&g_failed, 1);                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                        \
    } while (0)

/* A call that must succeed; prints the last error otherwise. */
#define CHECK_OK(call)                                                           \
    do {                                                                         \
        int st_ = (call);                                                        \
        if (st_ == SIO_OK) {                                                     \
            atomic_fetch_add(&g_passed, 1);                                      \
        } else {                                                                 \
            atomic_fetch_add(&g_failed, 1);                                      \
            fprintf(stderr, "FAIL %s:%d: %s -> %d (%s): %s\n", __FILE__,         \
                    __LINE__, #call, st_, sio_status_str(st_), sio_last_error()); \
        }                                                                        \
    } while (0)

/* A call that must fail with `status` and a last error containing `text`. */
#define CHECK_ERR(call, status, text)                                            \
    do {                                                                         \
        int st_ = (call);                                                        \
        const char *msg_ = sio_last_error();                                     \
        if (st_ == (status) && msg_ && strstr(msg_, (text))) {                   \
            atomic_fetch_add(&g_passed, 1);                                      \
        } else {                                                                 \
            atomic_fetch_add(&g_failed, 1);                                      \
            fprintf(stderr, "FAIL %s:%d: %s -> %d \"%s\", want %d \"%s\"\n",     \
                    __FILE__, __LINE__, #call, st_, msg_ ? msg_ : "(null)",      \
                    (status), (text));                                           \
        }                                                                        \
    } while (0)

static inline int report(const char *name) {
    int p = atomic_load(&g_passed), f = atomic_load(&g_failed);
    printf("%s: %d passed, %d failed\n", name, p, f);
    fflush(stdout);
    return f == 0 ? 0 : 1;
}

static inline long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs the callbacks waiting in `q` for about `ms` milliseconds, waiting on
 * the queue's file descriptor with poll(2). NULL: just sleeps. */
static inline void pump(const sio_queue *q, long ms) {
    if (!q) {
        sleep_ms(ms);
        return;
    }
    int fd = -1;
    sio_queue_fd(q, &fd);
    long end = now_ms() + ms;
    for (;;) {
        long left = end - now_ms();
        if (left <= 0) break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) > 0) sio_queue_poll(q, 0, NULL);
    }
    sio_queue_poll(q, 0, NULL);
}

/* Waits (pumping `q`) until `*flag` is set or `ms` pass; returns the flag. */
static inline int wait_flag(const sio_queue *q, atomic_int *flag, long ms) {
    long end = now_ms() + ms;
    while (!atomic_load(flag) && now_ms() < end) pump(q, 10);
    return atomic_load(flag);
}

/* Waits until `*counter` reaches `n`. */
static inline int wait_count(const sio_queue *q, atomic_int *counter, int n, long ms) {
    long end = now_ms() + ms;
    while (atomic_load(counter) < n && now_ms() < end) pump(q, 10);
    return atomic_load(counter) >= n;
}

/* Starts `node <SIO_NODE_DIR>/<script> args...`. */
static inline pid_t spawn_node(const char *script, const char *arg1, const char *arg2) {
    const char *dir = getenv("SIO_NODE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/node", script);
    char *argv[] = {"node", path, (char *)arg1, (char *)arg2, NULL};
    pid_t pid = -1;
    if (posix_spawnp(&pid, "node", NULL, NULL, argv, environ) != 0) {
        perror("posix_spawnp node");
        return -1;
    }
    return pid;
}

/* Waits (pumping `q`) for the child to exit; its exit status, or -1 after
 * `ms` (the child is then killed). */
static inline int wait_child(const sio_queue *q, pid_t pid, long ms) {
    long end = now_ms() + ms;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        pump(q, 10);
    }
}

/* The `n`th string token (from 0) of a JSON text, copied into `out`;
 * enough for the tests' flat payloads (no escapes). */
static inline int json_string(const char *json, int n, char *out, size_t size) {
    const char *p = json;
    for (int i = 0;; i++) {
        const char *q = strchr(p, '"');
        if (!q) return 0;
        const char *e = strchr(q + 1, '"');
        if (!e) return 0;
        if (i == n) {
            size_t len = (size_t)(e - q - 1);
            if (len >= size) len = size - 1;
            memcpy(out, q + 1, len);
            out[len] = 0;
            return 1;
        }
        p = e + 1;
    }
}

/* `s` as a JSON string literal (quotes included) into `out`. */
static inline void json_quote(const char *s, char *out, size_t size) {
    size_t o = 0;
    if (size < 3) return;
    out[o++] = '"';
    for (; *s && o + 7 < size; s++) {
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
    out[o] = 0;
}

/* A free_user_data that counts its calls (user_data: an atomic_int). */
static inline void count_free(void *user_data) {
    atomic_fetch_add((atomic_int *)user_data, 1);
}

/* sio_socket_free with the signature of a free_user_data. */
static inline void free_socket(void *socket) {
    sio_socket_free((sio_socket *)socket);
}

#endif
