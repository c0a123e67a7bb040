/* The Admin UI through the C API: sio_admin_options and
 * sio_server_instrument, checked locally (refused options, statuses and
 * messages), then driven by the npm socket.io-client as the UI drives it
 * (tests/node/capi-admin-client.mjs), twice — basic authentication with
 * callbacks on the runtime's threads, then a C auth check run through an
 * event queue on this thread.
 *
 *   test_admin        (SIO_NODE_DIR: the folder of capi-admin-client.mjs)
 *
 * Prints "N passed, N failed"; exits 1 on any failure. */
#include <pthread.h>

#include "test_util.h"

/* bcrypt of "s3cret!" (cost 4). */
static const char *HASH = "$2a$04$cmUWgmh8loSUzhLZDgHJA.82IDwoDUMqh55yFcLoLdY6k6.zcBt1q";

static void local_checks(void) {
    sio_admin_options *opts = NULL;
    CHECK_ERR(sio_admin_options_new(NULL), SIO_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK_OK(sio_admin_options_new(&opts));
    CHECK_ERR(sio_admin_options_set_mode(opts, "staging"), SIO_ERR_INVALID_ARGUMENT, "invalid admin mode");
    CHECK_ERR(sio_admin_options_set_mode(NULL, "production"), SIO_ERR_INVALID_ARGUMENT, "opts is NULL");
    CHECK_ERR(sio_admin_options_set_stats_interval(opts, 0), SIO_ERR_INVALID_ARGUMENT, "must not be 0");
    CHECK_ERR(sio_admin_options_set_basic_auth(opts, NULL, HASH), SIO_ERR_INVALID_ARGUMENT, "username is NULL");
    CHECK_ERR(sio_admin_options_set_namespace(opts, NULL), SIO_ERR_INVALID_ARGUMENT, "name is NULL");
    atomic_int freed = 0;
    CHECK_ERR(sio_admin_options_set_auth_check(opts, NULL, &freed, count_free), SIO_ERR_INVALID_ARGUMENT,
              "cb is NULL");
    CHECK(atomic_load(&freed) == 1);

    sio_server *server = NULL;
    CHECK_OK(sio_server_new(NULL, &server));
    CHECK_ERR(sio_server_instrument(server, NULL), SIO_ERR_INVALID_ARGUMENT, "opts is NULL");
    CHECK_ERR(sio_server_instrument(NULL, opts), SIO_ERR_INVALID_ARGUMENT, "server is NULL");
    /* The reference's refusals, with its messages. */
    CHECK_ERR(sio_server_instrument(server, opts), SIO_ERR_INVALID_ARGUMENT,
              "the `auth` option must be specified or explicitly set to `false`");
    CHECK_OK(sio_admin_options_set_basic_auth(opts, "admin", "s3cret!"));
    CHECK_ERR(sio_server_instrument(server, opts), SIO_ERR_INVALID_ARGUMENT,
              "the `password` field must be a valid bcrypt hash");
    CHECK_OK(sio_admin_options_set_no_auth(opts));
    CHECK_OK(sio_admin_options_set_mode(opts, "production"));
    CHECK_OK(sio_server_instrument(server, opts));
    CHECK(strcmp(sio_last_error(), "") == 0);
    CHECK_OK(sio_server_close(server, NULL, NULL, NULL));
    CHECK_ERR(sio_server_instrument(server, opts), SIO_ERR_CLOSED, "closed");
    sio_server_free(server);
    sio_admin_options_free(opts);
    sio_admin_options_free(NULL);
}

typedef struct {
    pthread_t main_thread;
    atomic_int checks, on_main, freed;
} check_ctx;

/* Lets in {"token":"ok"} only; counts where it ran. */
static bool auth_check(void *user_data, const char *auth_json) {
    check_ctx *c = user_data;
    atomic_fetch_add(&c->checks, 1);
    if (pthread_equal(pthread_self(), c->main_thread)) atomic_fetch_add(&c->on_main, 1);
    CHECK(auth_json != NULL && auth_json[0] == '{');
    return strstr(auth_json, "\"token\":\"ok\"") != NULL;
}

static void check_freed(void *user_data) {
    atomic_fetch_add(&((check_ctx *)user_data)->freed, 1);
}

/* Every socket of "/" gets data the UI then shows. */
static void on_user(void *user_data, const sio_socket *s) {
    (void)user_data;
    CHECK_OK(sio_socket_set_data(s, "{\"role\":\"user\"}"));
}

static void conversation(int queued) {
    printf("-- the Admin UI from socket.io-client, %s\n",
           queued ? "a C auth check through an event queue" : "basic authentication");
    fflush(stdout);
    check_ctx cc;
    memset(&cc, 0, sizeof cc);
    cc.main_thread = pthread_self();

    sio_queue *q = NULL;
    sio_server_options *sopts = NULL;
    CHECK_OK(sio_server_options_new(&sopts));
    if (queued) {
        CHECK_OK(sio_queue_new(&q));
        CHECK_OK(sio_server_options_set_queue(sopts, q));
    }
    sio_server *server = NULL;
    CHECK_OK(sio_server_new(sopts, &server));
    sio_server_options_free(sopts);
    sio_namespace *root = NULL;
    CHECK_OK(sio_server_of(server, "/", &root));
    CHECK_OK(sio_namespace_on_connection(root, on_user, NULL, NULL));
    sio_namespace_free(root);

    sio_admin_options *opts = NULL;
    CHECK_OK(sio_admin_options_new(&opts));
    if (queued) {
        CHECK_OK(sio_admin_options_set_auth_check(opts, auth_check, &cc, check_freed));
        CHECK_OK(sio_admin_options_set_namespace(opts, "/ops"));
        CHECK_OK(sio_admin_options_set_readonly(opts, true));
        CHECK_OK(sio_admin_options_set_mode(opts, "production"));
    } else {
        CHECK_OK(sio_admin_options_set_basic_auth(opts, "admin", HASH));
        CHECK_OK(sio_admin_options_set_server_id(opts, "c-1"));
        CHECK_OK(sio_admin_options_set_stats_interval(opts, 300));
    }
    CHECK_OK(sio_server_instrument(server, opts));
    sio_admin_options_free(opts); /* the server keeps what it needs */

    CHECK_OK(sio_server_listen(server, "127.0.0.1:0"));
    uint16_t port = 0;
    CHECK_OK(sio_server_port(server, &port));
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    pid_t child = spawn_node("capi-admin-client.mjs", url, queued ? "check" : "basic");
    CHECK(child > 0);
    int status = child > 0 ? wait_child(q, child, 40000) : -1;
    CHECK(status == 0);
    if (queued) {
        /* {token: "no"}, no payload, {token: "ok"}: each asked on this
         * thread, inside sio_queue_poll. */
        CHECK(atomic_load(&cc.checks) == 3);
        CHECK(atomic_load(&cc.on_main) == 3);
    }

    CHECK_OK(sio_server_close(server, NULL, NULL, NULL));
    sio_server_free(server);
    if (queued) {
        /* The check's user_data goes with the server. */
        CHECK(wait_count(q, &cc.freed, 1, 10000));
        pump(q, 20);
        sio_queue_free(q);
    }
}

int main(void) {
    local_checks();
    conversation(0);
    conversation(1);
    return report("test_admin");
}
