// The C++ wrapper (socketio.hpp), linked against the static library: a
// server with lambdas on a runtime of its own, a client whose callbacks run
// through an event queue pumped here, and what the wrapper adds — RAII,
// exceptions, owned copies of borrowed sockets, one-shot Ack and Next.
//
// Prints "N passed, N failed"; exits 1 on any failure.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
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

struct ServerState {
    std::mutex mu;
    std::vector<sio::Socket> kept; // owned copies of borrowed sockets
    std::atomic<int> connections{0}, disconnects{0}, thrown{0};
    std::string last_reason;
};

int main() {
    CHECK(sio_abi_version() == SIO_ABI_VERSION);

    // Errors are exceptions with the status and the message.
    try {
        sio::ServerOptions().ping_interval(0);
        CHECK(false);
    } catch (const sio::Error &e) {
        CHECK(e.status() == SIO_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(e.what(), "must not be 0") != nullptr);
    }
    CHECK(sio::quote("a\"b\n") == "\"a\\\"b\\n\"");

    ServerState st;
    sio::Runtime rt(2);
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
                                            "," + std::to_string(r.missing.size()) + "]";
                        shared->send(reply);
                    });
            });
            s.on("count", [](sio::Socket &s, sio::Args, sio::Ack ack) {
                auto shared = std::make_shared<sio::Ack>(std::move(ack));
                s.ns().fetch_sockets([shared](int, std::string_view, std::vector<sio::Socket> sockets) {
                    bool ok = !sockets.empty() && sockets[0].connected() && sockets[0].id().size() == 20;
                    shared->send("[" + std::to_string(sockets.size()) + "," + (ok ? "true" : "false") + "]");
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
    CHECK(tally == "[0,1,0]" && votes == 1);
    client.emit_with_ack("count", sio::Payload(), [&](int, std::string_view, sio::Args a) { count = std::string(a.json()); });
    CHECK(wait_until(&q, [&] { return !count.empty(); }));
    CHECK(count == "[1,true]");

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
