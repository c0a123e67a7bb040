// The C++ wrapper (socketio.hpp), linked against the static library: a
// server with lambdas on a runtime of its own, a client whose callbacks run
// through an event queue pumped here, and what the wrapper adds — RAII,
// exceptions, owned copies of borrowed sockets, one-shot Ack and Next.
// Then the less common parts: dynamic namespaces (regex and matcher) with a
// parent middleware, per-event middlewares and their errors, outgoing
// listeners, a socket's rooms / handshake / data, the cluster calls on one
// server, option setters (checked live where they change behaviour), and,
// when SIO_REDIS_URL names a running Redis, two servers joined through it:
// serverSideEmit with answers, a dropped server-side ack, the server count.
//
// Prints "N passed, N failed"; exits 1 on any failure.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sys/socket.h>
#include <unistd.h>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "socketio.hpp"

static std::atomic<int> passed{0}, failed{0};

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) {                                                                 \
            passed++;                                                               \
        } else {                                                                    \
            failed++;                                                               \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                           \
    } while (0)

// Pumps `q` until `cond` holds or `ms` pass.
template <class F> static bool wait_until(const sio::Queue *q, F cond, int ms = 10000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!cond()) {
        if (std::chrono::steady_clock::now() > end) return false;
        if (q) {
            q->poll(10);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    return true;
}

// A statement that must throw sio::Error with `status` and a message
// containing `text`.
#define CHECK_THROWS(stmt, want_status, text)                                                         \
    do {                                                                                              \
        int got_ = SIO_OK;                                                                            \
        std::string msg_;                                                                             \
        try {                                                                                         \
            stmt;                                                                                     \
        } catch (const sio::Error &e) {                                                               \
            got_ = e.status();                                                                        \
            msg_ = e.what();                                                                          \
        }                                                                                             \
        if (got_ == (want_status) && msg_.find(text) != std::string::npos) {                          \
            passed++;                                                                                 \
        } else {                                                                                      \
            failed++;                                                                                 \
            std::fprintf(stderr, "FAIL %s:%d: %s -> %d \"%s\", want %d \"%s\"\n", __FILE__, __LINE__, \
                         #stmt, got_, msg_.c_str(), (want_status), (text));                          \
        }                                                                                             \
    } while (0)

static bool contains(const std::string &hay, const std::string &needle) {
    return hay.find(needle) != std::string::npos;
}

// "major.minor.patch", optionally followed by a pre-release or build tag.
static bool looks_like_version(std::string_view v) {
    int parts = 0;
    std::size_t i = 0;
    while (parts < 3) {
        std::size_t start = i;
        while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) i++;
        if (i == start) return false;
        parts++;
        if (parts < 3) {
            if (i >= v.size() || v[i] != '.') return false;
            i++;
        }
    }
    return i == v.size() || v[i] == '-' || v[i] == '+';
}

// The outcome of one asynchronous call with a payload, waited for from the
// main thread. Its state is shared with the callback, so a completion that
// comes after a wait gave up touches nothing freed.
class Reply {
  public:
    sio::ReplyFn fn() const {
        return [d = d_](int st, std::string_view err, sio::Args args) {
            std::lock_guard<std::mutex> g(d->mu);
            d->status = st;
            d->error = std::string(err);
            d->json = std::string(args.json());
            d->done++;
        };
    }
    int done() const { return d_->done; }
    int code() const {
        std::lock_guard<std::mutex> g(d_->mu);
        return d_->status;
    }
    std::string error() const {
        std::lock_guard<std::mutex> g(d_->mu);
        return d_->error;
    }
    std::string text() const {
        std::lock_guard<std::mutex> g(d_->mu);
        return d_->json;
    }

  private:
    struct Data {
        std::mutex mu;
        std::atomic<int> done{0};
        int status = 99;
        std::string error, json;
    };
    std::shared_ptr<Data> d_ = std::make_shared<Data>();
};

struct ServerState {
    std::mutex mu;
    std::vector<sio::Socket> kept; // owned copies of borrowed sockets
    std::atomic<int> connections{0}, disconnects{0}, thrown{0};
    std::string last_reason;
};

static void versions_and_options();
static void dynamic_namespaces(const sio::Server &server, std::uint16_t port);
static void cluster_on_one_server(sio::Server &server, const sio::Socket &kept);
static void option_setters_live(const sio::Runtime &rt, std::uint16_t plain_port);
static void two_servers(const std::string &redis_url, const std::string &flavour);
static void admin_ui();
static void engine_hooks(const sio::Runtime &rt);

int main() {
    CHECK(sio_abi_version() == SIO_ABI_VERSION);
    versions_and_options();

    // Errors are exceptions with the status and the message.
    try {
        sio::ServerOptions().ping_interval(0);
        CHECK(false);
    } catch (const sio::Error &e) {
        CHECK(e.status() == SIO_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(e.what(), "must not be 0") != nullptr);
    }
    CHECK(sio::quote("a\"b\n") == "\"a\\\"b\\n\"");
    admin_ui();

    ServerState st;
    sio::Runtime rt(2);
    engine_hooks(rt);
    sio::Server server(sio::ServerOptions().runtime(rt).ack_timeout(2000));
    {
        sio::Namespace root = server.of("/");
        root.on_connection([&st](sio::Socket &s) {
            st.connections++;
            {
                std::lock_guard<std::mutex> g(st.mu);
                st.kept.push_back(s); // copy: owned, outlives the callback
            }
            s.on("echo", [](sio::Socket &, sio::Args args, sio::Ack ack) { ack.send(args.payload()); });
            s.on("throw", [&st](sio::Socket &, sio::Args, sio::Ack) {
                st.thrown++;
                throw std::runtime_error("thrown on purpose (reported, not propagated)");
            });
            s.on("bad", [](sio::Socket &s, sio::Args, sio::Ack ack) {
                try {
                    s.emit("x", "not json");
                    ack.send("[\"no error\"]");
                } catch (const sio::Error &e) {
                    ack.send("[" + std::to_string(e.status()) + "," + sio::quote(e.what()) + "]");
                }
            });
            s.on("vote-all", [](sio::Socket &s, sio::Args, sio::Ack ack) {
                auto shared = std::make_shared<sio::Ack>(std::move(ack));
                s.ns().broadcast().timeout(1000).emit_with_ack(
                    "vote", sio::Payload(), [shared](int status, std::string_view, sio::BroadcastReplies r) {
                        std::string reply = "[" + std::to_string(status) + "," + std::to_string(r.replies.size()) +
                                            "," + std::to_string(r.missing.size()) + "," + r.remote.json() + "," +
                                            (r.remote_complete ? "true" : "false") + "]";
                        shared->send(reply);
                    });
            });
            s.on("count", [](sio::Socket &s, sio::Args, sio::Ack ack) {
                auto shared = std::make_shared<sio::Ack>(std::move(ack));
                auto everyone = std::make_shared<sio::Broadcast>(s.ns().broadcast());
                s.ns().fetch_sockets([shared, everyone](int, std::string_view, std::vector<sio::Socket> sockets) {
                    bool ok = !sockets.empty() && sockets[0].connected() && sockets[0].id().size() == 20;
                    std::string local = std::to_string(sockets.size()) + "," + (ok ? "true" : "false");
                    // Without an adapter the whole cluster is this server.
                    everyone->fetch_all_sockets(
                        [shared, local](int, std::string_view, std::vector<sio::Socket> all, sio::Payload remote) {
                            shared->send("[" + local + "," + std::to_string(all.size()) + "," + remote.json() + "]");
                        });
                });
            });
            s.on_disconnect([&st](sio::Socket &, std::string_view reason) {
                std::lock_guard<std::mutex> g(st.mu);
                st.last_reason = std::string(reason);
                st.disconnects++;
            });
            sio::Payload welcome;
            std::string ph = welcome.add("\x01\x02", 2);
            welcome = sio::Payload("[\"hi\"," + ph + "]", welcome.bins());
            s.emit("welcome", welcome);
        });
        // A middleware that lets its Next go unanswered: the wrapper refuses.
        server.of("/locked").use([](sio::Socket &, sio::Next) {});
    }
    std::uint16_t port = server.listen("127.0.0.1:0");
    CHECK(port != 0);
    std::string url = "http://127.0.0.1:" + std::to_string(port);

    sio::Queue q;
    std::atomic<int> welcomed{0}, connected{0}, votes{0};
    std::string welcome_text;
    sio::Client client(url, sio::ClientOptions().queue(q).reconnection(false));
    client.on("welcome", [&](sio::Args args, sio::Ack ack) {
        CHECK(!ack);
        CHECK(args.bin_count() == 1 && args.bin(0) == std::string("\x01\x02", 2));
        welcome_text = std::string(args.json());
        welcomed++;
    });
    client.on("vote", [&](sio::Args, sio::Ack ack) {
        CHECK(static_cast<bool>(ack));
        ack.send("[\"yes\"]");
        votes++;
    });
    client.on_connect([&] { connected++; });
    int connect_status = 99;
    client.connect([&](int status, std::string_view, sio::Args) { connect_status = status; });
    CHECK(wait_until(&q, [&] { return connect_status != 99 && welcomed == 1; }));
    CHECK(connect_status == SIO_OK);
    CHECK(connected == 1 && client.connected() && client.id().size() == 20);
    CHECK(welcome_text == "[\"hi\"," + sio::bin(0) + "]");

    // Acks with buffers.
    std::string echoed;
    std::size_t echoed_bins = 0;
    sio::Payload p;
    std::string ph = p.add("xyz", 3);
    p = sio::Payload("[{\"file\":" + ph + "}]", p.bins());
    client.emit_with_ack("echo", p, [&](int status, std::string_view, sio::Args args) {
        CHECK(status == SIO_OK);
        echoed = std::string(args.json());
        echoed_bins = args.bin_count();
    });
    CHECK(wait_until(&q, [&] { return !echoed.empty(); }));
    CHECK(echoed == "[{\"file\":" + sio::bin(0) + "}]" && echoed_bins == 1);

    // Errors inside a handler become statuses; exceptions are contained.
    std::string bad;
    client.emit("throw");
    client.emit_with_ack("bad", sio::Payload(), [&](int, std::string_view, sio::Args a) { bad = std::string(a.json()); });
    CHECK(wait_until(&q, [&] { return !bad.empty(); }));
    CHECK(bad.find("[-1,") == 0 && bad.find("invalid JSON") != std::string::npos);
    CHECK(st.thrown == 1);

    // Broadcast with acks, fetch_sockets.
    std::string tally, count;
    client.emit_with_ack("vote-all", sio::Payload(), [&](int, std::string_view, sio::Args a) { tally = std::string(a.json()); });
    CHECK(wait_until(&q, [&] { return !tally.empty(); }));
    CHECK(tally == "[0,1,0,[],true]" && votes == 1);
    client.emit_with_ack("count", sio::Payload(), [&](int, std::string_view, sio::Args a) { count = std::string(a.json()); });
    CHECK(wait_until(&q, [&] { return !count.empty(); }));
    CHECK(count == "[1,true,1,[]]");

    // A kept socket handle works after its callback returned.
    std::atomic<int> late{0};
    client.on("late", [&](sio::Args, sio::Ack) { late++; });
    {
        std::lock_guard<std::mutex> g(st.mu);
        CHECK(st.kept.size() == 1);
        st.kept[0].emit("late");
        sio::Broadcast b = st.kept[0].ns().to(st.kept[0].id());
        b.emit("late");
    }
    CHECK(wait_until(&q, [&] { return late == 2; }));

    // The less common server parts, on the same server.
    dynamic_namespaces(server, port);
    std::optional<sio::Socket> first;
    {
        std::lock_guard<std::mutex> g(st.mu);
        CHECK(st.kept.size() == 1);
        if (!st.kept.empty()) first.emplace(st.kept[0]);
    }
    if (first) cluster_on_one_server(server, *first);
    option_setters_live(rt, port);
    const char *redis = std::getenv("SIO_REDIS_URL");
    const char *flavour = std::getenv("SIO_REDIS_FLAVOUR");
    if (redis && *redis) {
        two_servers(redis, flavour && *flavour ? flavour : "classic");
    } else {
        std::printf("-- two servers joined through Redis: skipped (SIO_REDIS_URL unset)\n");
    }

    // Refused because the middleware dropped its Next.
    int locked_status = 99;
    std::string locked_error;
    {
        sio::Client locked(url + "/locked", sio::ClientOptions().reconnection(false));
        locked.connect([&](int status, std::string_view error, sio::Args) {
            locked_error = std::string(error);
            locked_status = status;
        });
        CHECK(wait_until(nullptr, [&] { return locked_status != 99; }));
    }
    CHECK(locked_status == SIO_ERR_REFUSED && locked_error == "refused");

    // Disconnect; then close the server.
    client.disconnect();
    CHECK(wait_until(nullptr, [&] { return st.disconnects == 1; }));
    {
        std::lock_guard<std::mutex> g(st.mu);
        if (st.last_reason != "client namespace disconnect")
            std::fprintf(stderr, "disconnect reason: %s (disconnects %d)\n", st.last_reason.c_str(), st.disconnects.load());
        CHECK(st.last_reason == "client namespace disconnect");
        st.kept.clear();
    }
    std::atomic<int> closed{0};
    server.close([&](int status, std::string_view) {
        CHECK(status == SIO_OK);
        closed++;
    });
    CHECK(wait_until(nullptr, [&] { return closed == 1; }));

    std::printf("test_cpp: %d passed, %d failed\n", passed.load(), failed.load());
    return failed == 0 ? 0 : 1;
}

// The Admin UI: options refused with the reference's messages, then a
// lambda deciding the logins of our own client on the admin namespace.
static void admin_ui() {
    std::printf("-- the Admin UI (instrument)\n");
    CHECK_THROWS(sio::AdminOptions().mode("staging"), SIO_ERR_INVALID_ARGUMENT, "invalid admin mode");
    CHECK_THROWS(sio::AdminOptions().stats_interval(0), SIO_ERR_INVALID_ARGUMENT, "must not be 0");
    sio::Server server;
    CHECK_THROWS(server.instrument(sio::AdminOptions()), SIO_ERR_INVALID_ARGUMENT, "the `auth` option");
    CHECK_THROWS(server.instrument(sio::AdminOptions().basic_auth("admin", "plain")), SIO_ERR_INVALID_ARGUMENT,
                 "valid bcrypt hash");
    std::atomic<int> asked{0};
    server.instrument(sio::AdminOptions()
                          .auth_check([&asked](std::string_view auth) {
                              asked++;
                              if (auth.find("\"boom\"") != std::string_view::npos) throw std::runtime_error("boom");
                              return auth.find("\"token\":\"ok\"") != std::string_view::npos;
                          })
                          .namespace_name("/ops")
                          .server_id("cpp-1")
                          .stats_interval(200));
    std::string url = "http://127.0.0.1:" + std::to_string(server.listen("127.0.0.1:0")) + "/ops";

    for (const char *token : {"no", "boom"}) {
        int status = 99;
        std::string error;
        sio::Client c(url, sio::ClientOptions().reconnection(false).auth(std::string("{\"token\":\"") + token + "\"}"));
        c.connect([&](int st, std::string_view e, sio::Args) {
            error = std::string(e);
            status = st;
        });
        CHECK(wait_until(nullptr, [&] { return status != 99; }));
        CHECK(status == SIO_ERR_REFUSED && error == "invalid credentials");
    }
    std::mutex mu;
    std::string config, stats;
    int status = 99;
    sio::Client ui(url, sio::ClientOptions().reconnection(false).auth("{\"token\":\"ok\"}"));
    ui.on("config", [&](sio::Args args, sio::Ack) {
        std::lock_guard<std::mutex> g(mu);
        config = std::string(args.json());
    });
    ui.on("server_stats", [&](sio::Args args, sio::Ack) {
        std::lock_guard<std::mutex> g(mu);
        stats = std::string(args.json());
    });
    ui.connect([&](int st, std::string_view, sio::Args) { status = st; });
    CHECK(wait_until(nullptr, [&] {
        std::lock_guard<std::mutex> g(mu);
        return status != 99 && !config.empty() && !stats.empty();
    }));
    CHECK(status == SIO_OK);
    CHECK(asked == 3);
    std::lock_guard<std::mutex> g(mu);
    CHECK(contains(config, "\"ALL_EVENTS\""));
    CHECK(contains(stats, "\"serverId\":\"cpp-1\""));
}

// The library's version and ABI; option setters that refuse bad values.
static void versions_and_options() {
    std::printf("-- versions, option setters\n");
    CHECK(sio::abi_version() == SIO_ABI_VERSION);
    CHECK(sio::version() == std::string_view(sio_version()));
    CHECK(looks_like_version(sio::version()));
    CHECK(!looks_like_version("1.2") && !looks_like_version("1.2.x") && looks_like_version("10.0.3-rc.1"));

    // Accepted values chain; refused ones throw with the library's message.
    sio::ClientOptions copts;
    copts.randomization_factor(0).randomization_factor(1).upgrade(false).upgrade(true).tls_builtin_roots(true);
    CHECK_THROWS(copts.randomization_factor(1.5), SIO_ERR_INVALID_ARGUMENT, "between 0 and 1");
    CHECK_THROWS(copts.randomization_factor(-0.1), SIO_ERR_INVALID_ARGUMENT, "between 0 and 1");
    CHECK_THROWS(copts.tls_root_pem(""), SIO_ERR_INVALID_ARGUMENT, "pem");
    CHECK_THROWS(copts.tls_root_pem("nope"), SIO_ERR_INVALID_ARGUMENT, "PEM");

    sio::ServerOptions sopts;
    sopts.allow_upgrades(false).allow_eio3(true).cookie().no_cookie().max_attachments(3);
    sopts.redis("redis://127.0.0.1:1", "streams", "k");
    CHECK_THROWS(sopts.serve_client("/nonexistent/socket.io-client"), SIO_ERR_IO, "no socket.io-client bundle");
    sopts.serve_client("");
    CHECK_THROWS(sopts.redis("redis://127.0.0.1:1", "gossip"), SIO_ERR_INVALID_ARGUMENT, "flavour");
    // Nobody listens on port 1: creating the server fails (after the
    // library's connection timeout, a few seconds).
    CHECK_THROWS(sio::Server(sio::ServerOptions().redis("redis://127.0.0.1:1")), SIO_ERR_IO, "Redis");
}

struct DynState {
    std::mutex mu;
    std::vector<std::string> child_nsps, used, errors;
    std::string rooms, handshake, data_before, data_after, outgoing_json, where_json;
    std::atomic<int> connections{0}, parent_checks{0}, matcher_calls{0}, blocked{0}, error_count{0},
        forbidden_ran{0}, outgoing{0}, heard_where{0};
};

// A connected client of `url` (reconnection off); the first attempt's
// status, error and data in `out`.
static std::unique_ptr<sio::Client> connect_to(const std::string &url, sio::ClientOptions &opts, Reply &out) {
    auto c = std::make_unique<sio::Client>(url, opts.reconnection(false));
    c->connect(out.fn());
    CHECK(wait_until(nullptr, [&] { return out.done() == 1; }));
    return c;
}

// Dynamic namespaces: a regex parent with a middleware, a matcher parent
// whose handle is dropped at once; in the children, socket.use and its
// errors, outgoing listeners, rooms, handshake and data.
static void dynamic_namespaces(const sio::Server &server, std::uint16_t port) {
    std::printf("-- dynamic namespaces, socket.use, outgoing listeners\n");
    // Static: the parents keep these callbacks as long as the server lives.
    static DynState dyn;
    auto child_connection = [](sio::Socket &s) {
        {
            std::lock_guard<std::mutex> g(dyn.mu);
            dyn.child_nsps.push_back(s.nsp());
            dyn.data_before = s.data();
            s.set_data("{\"seen\":1}");
            dyn.data_after = s.data();
            s.join("lobby");
            dyn.rooms = s.rooms();
            dyn.handshake = s.handshake();
        }
        s.use([](sio::Socket &s, std::string_view event, sio::Args args) -> std::optional<std::string> {
            CHECK(s.connected());
            CHECK(args.json().substr(0, 1) == "[");
            {
                std::lock_guard<std::mutex> g(dyn.mu);
                dyn.used.emplace_back(event);
            }
            if (event == "forbidden") {
                dyn.blocked++;
                return std::string("not allowed");
            }
            if (event == "explode") throw std::runtime_error("middleware exploded (on purpose)");
            return std::nullopt;
        });
        s.on_error([](sio::Socket &s, std::string_view message) {
            CHECK(!s.id().empty());
            std::lock_guard<std::mutex> g(dyn.mu);
            dyn.errors.emplace_back(message);
            dyn.error_count++;
        });
        std::uint64_t out_id = s.on_any_outgoing([](sio::Socket &, std::string_view event, sio::Args args) {
            if (event != "where") return;
            std::lock_guard<std::mutex> g(dyn.mu);
            dyn.outgoing_json = std::string(args.json());
            dyn.outgoing++;
        });
        // "where" answers with the namespace, and emits it too.
        s.on("where", [](sio::Socket &s, sio::Args, sio::Ack ack) {
            std::string reply = "[" + sio::quote(s.nsp()) + "]";
            s.emit("where", reply);
            if (ack) ack.send(reply);
        });
        s.on("forbidden", [](sio::Socket &, sio::Args, sio::Ack) { dyn.forbidden_ran++; });
        s.on("explode", [](sio::Socket &, sio::Args, sio::Ack) { dyn.forbidden_ran++; });
        // Stops the outgoing listener, then emits: nobody may hear it.
        s.on("quiet", [out_id](sio::Socket &s, sio::Args, sio::Ack ack) {
            s.off_any_outgoing(out_id);
            s.emit("where", "[\"unheard\"]");
            ack.send();
        });
        dyn.connections++;
    };

    sio::ParentNamespace rooms = server.of_regex("^/room-\\d+$");
    rooms.use([](sio::Socket &s, sio::Next next) {
        dyn.parent_checks++;
        if (s.nsp() == "/room-13") {
            next.refuse("unlucky", "{\"n\":13}");
        } else {
            next.accept();
        }
    });
    rooms.on_connection(child_connection);
    CHECK(rooms.child_count() == 0);
    {
        sio::ParentNamespace games = server.of_dynamic([](std::string_view name) {
            dyn.matcher_calls++;
            if (name == "/boom") throw std::runtime_error("matcher threw (on purpose, counts as no match)");
            return name.substr(0, 6) == "/game-";
        });
        games.on_connection(child_connection);
        CHECK(games.child_count() == 0);
        // The handle goes; the parent lives on with the server.
    }
    CHECK_THROWS(server.of_regex("("), SIO_ERR_INVALID_ARGUMENT, "pattern");

    std::string base = "http://127.0.0.1:" + std::to_string(port);
    auto on_where = [](sio::Args args, sio::Ack) {
        std::lock_guard<std::mutex> g(dyn.mu);
        dyn.where_json = std::string(args.json());
        dyn.heard_where++;
    };

    // A name the regex matches: through the parent's middleware, into a
    // new child, with the client's auth and query in the handshake (a
    // connection of its own: a shared one keeps its first query).
    Reply c1;
    sio::ClientOptions o1;
    o1.auth("{\"token\":\"abc\"}").query("k", "v").force_new(true);
    auto a = std::make_unique<sio::Client>(base + "/room-7", o1.reconnection(false));
    a->on("where", on_where);
    a->connect(c1.fn());
    CHECK(wait_until(nullptr, [&] { return c1.done() == 1; }));
    CHECK(c1.code() == SIO_OK);
    CHECK(wait_until(nullptr, [&] { return dyn.connections == 1; }));
    CHECK(dyn.parent_checks == 1);
    CHECK(rooms.child_count() == 1);
    {
        std::lock_guard<std::mutex> g(dyn.mu);
        CHECK(dyn.child_nsps.size() == 1 && dyn.child_nsps[0] == "/room-7");
        std::string id = a->connected() ? a->id() : std::string();
        CHECK(id.size() == 20);
        CHECK(dyn.rooms.substr(0, 1) == "[" && contains(dyn.rooms, "\"lobby\"") && contains(dyn.rooms, sio::quote(id)));
        CHECK(contains(dyn.handshake, "\"auth\":{\"token\":\"abc\"}"));
        CHECK(contains(dyn.handshake, "\"k\":\"v\""));
        CHECK(contains(dyn.handshake, "\"address\":"));
        CHECK(dyn.data_before == "null");
        CHECK(dyn.data_after == "{\"seen\":1}");
    }

    // An event socket.use lets through, answered; the outgoing listener
    // sees the server's own emit.
    Reply w;
    a->emit_with_ack("where", sio::Payload(), w.fn(), 5000);
    CHECK(wait_until(nullptr, [&] { return w.done() == 1; }));
    CHECK(w.code() == SIO_OK && w.text() == "[\"/room-7\"]");
    CHECK(wait_until(nullptr, [&] { return dyn.heard_where == 1 && dyn.outgoing == 1; }));
    {
        std::lock_guard<std::mutex> g(dyn.mu);
        CHECK(dyn.outgoing_json == "[\"/room-7\"]");
        CHECK(dyn.used.size() == 1 && dyn.used[0] == "where");
    }

    // One it stops: on_error gets the message, the handler never runs, the
    // client's ack times out. An exception in the middleware stops the
    // event too, with its message.
    Reply f;
    a->emit_with_ack("forbidden", sio::Payload(), f.fn(), 300);
    CHECK(wait_until(nullptr, [&] { return f.done() == 1; }));
    CHECK(f.code() == SIO_ERR_TIMEOUT);
    CHECK(dyn.blocked == 1);
    a->emit("explode");
    CHECK(wait_until(nullptr, [&] { return dyn.error_count == 2; }));
    {
        std::lock_guard<std::mutex> g(dyn.mu);
        CHECK(dyn.errors.size() == 2 && dyn.errors[0] == "not allowed");
        CHECK(dyn.errors.size() == 2 && contains(dyn.errors[1], "middleware exploded"));
    }
    CHECK(dyn.forbidden_ran == 0);

    // off_any_outgoing: the next emit reaches the client, not the listener.
    Reply qr;
    a->emit_with_ack("quiet", sio::Payload(), qr.fn(), 5000);
    CHECK(wait_until(nullptr, [&] { return qr.done() == 1 && dyn.heard_where == 2; }));
    CHECK(qr.code() == SIO_OK);
    {
        std::lock_guard<std::mutex> g(dyn.mu);
        CHECK(dyn.where_json == "[\"unheard\"]");
        CHECK(dyn.outgoing == 1 && dyn.outgoing_json == "[\"/room-7\"]");
    }

    // Refused by the parent's middleware, with its data; no connection.
    Reply c2;
    sio::ClientOptions o2;
    auto b = connect_to(base + "/room-13", o2, c2);
    CHECK(c2.code() == SIO_ERR_REFUSED);
    CHECK(c2.error() == "unlucky" && c2.text() == "[{\"n\":13}]");
    CHECK(dyn.parent_checks == 2 && dyn.connections == 1);
    // The child is made before the middlewares decide, as in the reference
    // server: the parent has two now.
    CHECK(rooms.child_count() == 2);
    b.reset();

    // A name only the matcher accepts, though its handle is gone; one it
    // refuses, one it throws on: both unknown namespaces.
    Reply c3;
    sio::ClientOptions o3;
    auto g = connect_to(base + "/game-x", o3, c3);
    CHECK(c3.code() == SIO_OK);
    CHECK(wait_until(nullptr, [&] { return dyn.connections == 2; }));
    CHECK(dyn.matcher_calls >= 1);
    {
        std::lock_guard<std::mutex> lk(dyn.mu);
        CHECK(dyn.child_nsps.size() == 2 && dyn.child_nsps[1] == "/game-x");
    }
    int calls = dyn.matcher_calls;
    for (const char *name : {"/nowhere", "/boom"}) {
        Reply c4;
        sio::ClientOptions o4;
        auto n = connect_to(base + name, o4, c4);
        CHECK(c4.code() == SIO_ERR_REFUSED);
        CHECK(c4.error() == "Invalid namespace");
    }
    CHECK(dyn.matcher_calls >= calls + 2);
    CHECK(rooms.child_count() == 2 && dyn.connections == 2);

    // A matcher reading the auth: a tenant's namespace is made for its own
    // clients only (once made, it is there for anyone, as in the reference
    // server: access is the middlewares' business).
    {
        // Shared: the matcher lives on with the server after this block.
        auto auths = std::make_shared<std::vector<std::string>>();
        sio::ParentNamespace tenants = server.of_dynamic_with_auth([auths](std::string_view name, std::string_view auth) {
            std::lock_guard<std::mutex> lk(dyn.mu);
            auths->emplace_back(auth);
            return name == "/tenant-a" && auth == "{\"tenant\":\"a\"}";
        });
        tenants.on_connection(child_connection);
        Reply own, other, none;
        sio::ClientOptions oa, ob, on;
        oa.auth("{\"tenant\":\"a\"}");
        ob.auth("{\"tenant\":\"b\"}");
        auto tb = connect_to(base + "/tenant-a", ob, other);
        CHECK(other.code() == SIO_ERR_REFUSED && other.error() == "Invalid namespace");
        auto tn = connect_to(base + "/tenant-a", on, none);
        CHECK(none.code() == SIO_ERR_REFUSED && none.error() == "Invalid namespace");
        auto ta = connect_to(base + "/tenant-a", oa, own);
        CHECK(own.code() == SIO_OK);
        std::lock_guard<std::mutex> lk(dyn.mu);
        CHECK(std::find(auths->begin(), auths->end(), "{\"tenant\":\"b\"}") != auths->end());
        CHECK(std::find(auths->begin(), auths->end(), "{}") != auths->end());
    }
    CHECK(wait_until(nullptr, [&] { return dyn.connections == 3; }));

    g.reset();
    a.reset();
}

// serverSideEmit, allRooms and the server count on a server without a
// cluster adapter: nobody else hears or answers, the count is 1.
static void cluster_on_one_server(sio::Server &server, const sio::Socket &kept_socket) {
    sio::Socket kept = kept_socket; // an owned copy
    std::printf("-- cluster calls on one server\n");
    // Static: the server keeps the handler as long as it lives.
    static std::atomic<int> side_events{0};
    server.on_server_side_emit(
        "hello", [](std::string_view, sio::Args, sio::ServerSideAck ack) {
            if (ack) ack.send("{\"pong\":1}");
            side_events++;
        });
    kept.join("cpp-room");
    CHECK(contains(kept.rooms(), "\"cpp-room\""));

    Reply rooms, count, answers;
    server.all_rooms(rooms.fn());
    server.server_count(count.fn());
    server.server_side_emit("hello", "[\"from cpp\"]");
    server.server_side_emit_with_ack("hello", "[\"from cpp\"]", answers.fn(), 200);
    CHECK(wait_until(nullptr, [&] { return rooms.done() == 1 && count.done() == 1 && answers.done() == 1; }));
    CHECK(rooms.code() == SIO_OK);
    std::string r = rooms.text();
    CHECK(r.substr(0, 2) == "[[" && contains(r, "\"cpp-room\"") && contains(r, sio::quote(kept.id())));
    CHECK(count.code() == SIO_OK && count.text() == "[1]");
    CHECK(answers.code() == SIO_OK && answers.text() == "[]");
    CHECK(side_events == 0);
    CHECK_THROWS(server.server_side_emit("hello", "not json"), SIO_ERR_INVALID_ARGUMENT, "JSON");
    kept.leave("cpp-room");

    // An empty server-side ack cannot be sent.
    sio::ServerSideAck none;
    CHECK(!none);
    CHECK_THROWS(none.send(), SIO_ERR_STATE, "acknowledgement");
}

// Options that change behaviour, live: a server taking at most one
// attachment per packet and no upgrades, a client that does not upgrade;
// a client trusting only a given root, against a server without TLS.
// allowRequest (an exception refuses), the headers hook, connection_error,
// and the socket's transport, with C++ clients.
static void engine_hooks(const sio::Runtime &rt) {
    std::printf("-- engine hooks\n");
    struct Seen {
        std::mutex mu;
        std::string url, transport, error;
        std::atomic<int> codes{-1}, headers{0}, joined{0};
    };
    auto seen = std::make_shared<Seen>();
    sio::ServerOptions sopts;
    sopts.runtime(rt)
        .per_message_deflate(true)
        .allow_request([seen](const sio::Request &req) -> std::optional<std::string> {
            {
                std::lock_guard<std::mutex> g(seen->mu);
                seen->url = req.url();
            }
            auto token = req.header("x-token");
            if (!token) return std::string("no token");
            if (*token == "throw") throw std::runtime_error("boom");
            return std::nullopt;
        })
        .headers(false,
                 [seen](const sio::Request &, const auto &set) {
                     set("x-custom", "yes");
                     seen->headers++;
                 })
        .on_connection_error([seen](const sio::Request &, int code, std::string_view message, std::string_view) {
            std::lock_guard<std::mutex> g(seen->mu);
            seen->error = std::string(message);
            seen->codes = code;
        });
    sio::Server server(sopts);
    server.of("/").on_connection([seen](sio::Socket &s) {
        s.on_fallback([](sio::Socket &, std::string_view event, sio::Args, sio::Ack ack) {
            ack.send("[" + sio::quote(std::string(event)) + "]");
        });
        s.emit("surprise", "[1]");
        std::lock_guard<std::mutex> g(seen->mu);
        seen->transport = s.transport() + (s.recovered() ? " recovered" : "");
        seen->joined++;
    });
    std::string url = "http://127.0.0.1:" + std::to_string(server.listen("127.0.0.1:0"));

    Reply ok, refused, thrown;
    sio::ClientOptions good;
    std::atomic<int> asked{0};
    good.header("x-token", "yes").transports(SIO_TRANSPORT_WEBSOCKET).auth([&asked]() -> std::optional<std::string> {
        return "{\"n\":" + std::to_string(++asked) + "}";
    });
    std::atomic<int> opened{0}, surprised{0};
    auto a = std::make_unique<sio::Client>(url, good.reconnection(false));
    a->on_fallback([&surprised](std::string_view event, sio::Args, sio::Ack) {
        if (event == "surprise") surprised++;
    });
    a->on_manager([&opened](int kind, std::string_view text) {
        if (kind == SIO_MANAGER_OPEN && text == "websocket") opened++;
    });
    a->connect(ok.fn());
    CHECK(wait_until(nullptr, [&] { return ok.done() == 1; }));
    CHECK(ok.code() == SIO_OK);
    CHECK(asked == 1 && opened == 1);
    CHECK(wait_until(nullptr, [&] { return surprised == 1; }));
    Reply odd;
    a->emit_with_ack("odd-one", sio::Payload(), odd.fn(), 5000);
    CHECK(wait_until(nullptr, [&] { return odd.done() == 1; }));
    CHECK(odd.text() == "[\"odd-one\"]");
    CHECK(wait_until(nullptr, [&] { return seen->joined == 1; }));
    CHECK(seen->headers >= 1);
    {
        std::lock_guard<std::mutex> g(seen->mu);
        CHECK(seen->transport == "websocket");
        CHECK(seen->url.rfind("/socket.io/?EIO=4", 0) == 0);
    }
    sio::ClientOptions none;
    auto b = connect_to(url, none, refused);
    CHECK(refused.code() != SIO_OK);
    CHECK(wait_until(nullptr, [&] { return seen->codes == 4; }));
    {
        std::lock_guard<std::mutex> g(seen->mu);
        CHECK(seen->error == "no token");
    }
    seen->codes = -1;
    sio::ClientOptions bad;
    bad.header("x-token", "throw");
    auto c = connect_to(url, bad, thrown);
    CHECK(thrown.code() != SIO_OK);
    CHECK(wait_until(nullptr, [&] { return seen->codes == 4; }));
    {
        std::lock_guard<std::mutex> g(seen->mu);
        CHECK(seen->error == "Forbidden");
    }
    CHECK(seen->joined == 1);

    // Mounted: a connection handed over with part of its request already
    // read by the host.
    CHECK_THROWS(server.serve_fd(-1, ""), SIO_ERR_INVALID_ARGUMENT, "file descriptor");
    int pair[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    server.serve_fd(pair[0], "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n");
    const char rest[] = "Host: x\r\nX-Token: yes\r\nConnection: close\r\n\r\n";
    CHECK(write(pair[1], rest, sizeof rest - 1) == (ssize_t)(sizeof rest - 1));
    std::string answer;
    char buf[1024];
    ssize_t got;
    while ((got = read(pair[1], buf, sizeof buf)) > 0) answer.append(buf, static_cast<std::size_t>(got));
    close(pair[1]);
    CHECK(answer.rfind("HTTP/1.1 200", 0) == 0 && answer.find("\"sid\"") != std::string::npos);
}

static void option_setters_live(const sio::Runtime &rt, std::uint16_t plain_port) {
    std::printf("-- option setters, live\n");
    std::atomic<int> joined{0}; // declared first: it outlives the server
    sio::Server small(sio::ServerOptions().runtime(rt).max_attachments(1).allow_upgrades(false));
    {
        sio::Namespace root = small.of("/");
        root.on_connection([&joined](sio::Socket &s) {
            joined++;
            s.on("bins", [](sio::Socket &, sio::Args args, sio::Ack ack) {
                ack.send("[" + std::to_string(args.bin_count()) + "]");
            });
        });
    }
    std::uint16_t port = small.listen("127.0.0.1:0");
    std::string url = "http://127.0.0.1:" + std::to_string(port);

    std::mutex mu;
    std::string reason;
    std::atomic<int> gone{0};
    Reply c;
    sio::ClientOptions opts;
    opts.upgrade(false).randomization_factor(0.25);
    auto client = connect_to(url, opts, c);
    client->on_disconnect([&](std::string_view why) {
        std::lock_guard<std::mutex> g(mu);
        reason = std::string(why);
        gone++;
    });
    CHECK(c.code() == SIO_OK);
    CHECK(wait_until(nullptr, [&] { return joined == 1; }));

    // One buffer: within the limit.
    Reply one;
    sio::Payload p1;
    std::string ph = p1.add("a", 1);
    p1 = sio::Payload("[" + ph + "]", p1.bins());
    client->emit_with_ack("bins", p1, one.fn(), 5000);
    CHECK(wait_until(nullptr, [&] { return one.done() == 1; }));
    CHECK(one.code() == SIO_OK && one.text() == "[1]");

    // Two buffers: past max_attachments, the server drops the connection.
    Reply two;
    sio::Payload p2;
    std::string ph0 = p2.add("a", 1);
    std::string ph1 = p2.add("b", 1);
    p2 = sio::Payload("[" + ph0 + "," + ph1 + "]", p2.bins());
    client->emit_with_ack("bins", p2, two.fn(), 5000);
    CHECK(wait_until(nullptr, [&] { return two.done() == 1 && gone == 1; }));
    CHECK(two.code() == SIO_ERR_DISCONNECTED);
    CHECK(!client->connected());
    {
        std::lock_guard<std::mutex> g(mu);
        CHECK(!reason.empty());
    }
    client.reset();

    // TLS roots: accepted up front; an https:// URL on a plain server then
    // fails the handshake.
    static const char PEM[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    Reply t;
    sio::ClientOptions topts;
    topts.tls_root_pem(PEM).tls_root_pem(std::string(PEM)).tls_builtin_roots(false).timeout(3000);
    auto tls = connect_to("https://127.0.0.1:" + std::to_string(plain_port), topts, t);
    CHECK(t.code() == SIO_ERR_IO);
    CHECK(!t.error().empty());
    CHECK(!tls->connected());
}

struct SideState {
    std::atomic<int> events{0}, dropped{0};
    std::mutex mu;
    std::string last_event, last_args;
};

// A cluster server on Redis answering "hello" with {"pong":n}, except
// when its argument is "drop": then its ServerSideAck is destroyed
// unanswered.
static std::unique_ptr<sio::Server> cluster_server(const std::string &url, const std::string &flavour, int n,
                                                   SideState &st) {
    auto s = std::make_unique<sio::Server>(sio::ServerOptions().redis(url, flavour, "cpp-test"));
    s->on_server_side_emit("hello", [&st, n](std::string_view event, sio::Args args, sio::ServerSideAck ack) {
        {
            std::lock_guard<std::mutex> g(st.mu);
            st.last_event = std::string(event);
            st.last_args = std::string(args.json());
        }
        st.events++;
        if (!ack) return;
        if (args.json() == "[\"drop\"]") {
            st.dropped++;
            return; // released unanswered
        }
        ack.send("{\"pong\":" + std::to_string(n) + "}");
        CHECK(!ack);
    });
    s->listen("127.0.0.1:0");
    return s;
}

// Two servers joined through Redis: the count, a one-way serverSideEmit,
// one with an answer, one whose answer is dropped.
static void two_servers(const std::string &redis_url, const std::string &flavour) {
    std::printf("-- two servers joined through Redis (%s)\n", flavour.c_str());
    SideState s1, s2;
    std::unique_ptr<sio::Server> one, two;
    try {
        one = cluster_server(redis_url, flavour, 1, s1);
        two = cluster_server(redis_url, flavour, 2, s2);
    } catch (const sio::Error &e) {
        std::fprintf(stderr, "FAIL %s:%d: cluster servers: %s\n", __FILE__, __LINE__, e.what());
        failed++;
        return;
    }

    // Both servers see each other (within ten seconds).
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool counted = false;
    while (!counted && std::chrono::steady_clock::now() < end) {
        Reply c;
        one->server_count(c.fn());
        wait_until(nullptr, [&] { return c.done() == 1; }, 5000);
        counted = c.text() == "[2]";
        if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(counted);

    // One way: heard by the other server only.
    one->server_side_emit("hello", "[\"from one\"]");
    CHECK(wait_until(nullptr, [&] { return s2.events == 1; }));
    {
        std::lock_guard<std::mutex> g(s2.mu);
        CHECK(s2.last_event == "hello" && s2.last_args == "[\"from one\"]");
    }

    // With an answer.
    Reply answered;
    one->server_side_emit_with_ack("hello", "[\"from one\"]", answered.fn(), 5000);
    CHECK(wait_until(nullptr, [&] { return answered.done() == 1; }));
    CHECK(answered.code() == SIO_OK && answered.text() == "[{\"pong\":2}]");

    // The answer dropped (the ServerSideAck destroyed unanswered): none
    // comes, the call ends at its timeout.
    Reply dropped;
    auto start = std::chrono::steady_clock::now();
    two->server_side_emit_with_ack("hello", "[\"drop\"]", dropped.fn(), 300);
    CHECK(wait_until(nullptr, [&] { return dropped.done() == 1; }));
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(250));
    CHECK(s1.dropped == 1);
    CHECK(dropped.text() == "[]");
    CHECK(s1.events == 1 && s2.events == 2);

    // An emitter, which is not a server, reaches both servers' handlers
    // (the classic protocol: the one the npm emitter speaks).
    if (flavour == "classic") {
        sio::Emitter emitter(redis_url, "cpp-test");
        emitter.server_side_emit("hello", "[\"from an emitter\"]");
        CHECK(wait_until(nullptr, [&] { return s1.events == 2 && s2.events == 3; }));
        {
            std::lock_guard<std::mutex> g(s1.mu);
            CHECK(s1.last_args == "[\"from an emitter\"]");
        }
        emitter.of("/").to("nobody").volatile_().compress(false).emit("x", "[1]");
        CHECK_THROWS(emitter.emit("connect"), SIO_ERR_INVALID_ARGUMENT, "reserved");
    }
    CHECK_THROWS(sio::Emitter("redis://127.0.0.1:1"), SIO_ERR_IO, "Redis");
}
