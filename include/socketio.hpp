/*
 * socketio.hpp — a header-only C++17 wrapper of the socketio-rs C API
 * (socketio.h): RAII handles, lambdas for callbacks, exceptions for errors.
 *
 *   sio::Server server;                       // global runtime
 *   server.of("/").on_connection([](sio::Socket& s) {
 *       s.on("echo", [](sio::Socket&, sio::Args args, sio::Ack ack) {
 *           ack.send(args.payload());          // the arguments back
 *       });
 *       s.emit("welcome", sio::Payload("[\"hello\"]"));
 *   });
 *   server.listen("127.0.0.1:3000");
 *
 * Everything the C header's conventions say holds here (threads, payloads
 * as a JSON array plus buffers, borrowed arguments). In addition:
 * - Failed calls throw sio::Error (status() and what() = sio_last_error()).
 * - Callbacks are any callable; an exception escaping one is caught and
 *   reported on stderr (it must not cross the C library).
 * - Handles are move-only, except sio::Socket: the Socket& a callback gets
 *   is borrowed for the call; copying it makes an owned handle to keep.
 * - sio::Ack, sio::ServerSideAck and sio::Next own their one-shot answer:
 *   destroyed unanswered, an Ack or a ServerSideAck is released silently and
 *   a Next refuses the connection.
 * - Args, the incoming payload, is a view valid during the callback only;
 *   Args::payload() copies it into an owned sio::Payload.
 */
#ifndef SOCKETIO_HPP
#define SOCKETIO_HPP

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "socketio.h"

namespace sio {

/** A failed call: the status code and sio_last_error()'s message. */
class Error : public std::runtime_error {
  public:
    Error(int status, const char *message)
        : std::runtime_error(message && *message ? message : sio_status_str(status)), status_(status) {}
    /** One of the SIO_ERR_* codes. */
    int status() const noexcept { return status_; }

  private:
    int status_;
};

/** Throws sio::Error unless `status` is SIO_OK. */
inline void check(int status) {
    if (status != SIO_OK) throw Error(status, sio_last_error());
}

/** The ABI version of the linked library; compare it with SIO_ABI_VERSION
 *  at startup to catch a header/library mismatch. */
inline std::uint32_t abi_version() noexcept { return sio_abi_version(); }

/** The linked library's version, e.g. "0.1.0" (static storage), for logs
 *  and bug reports. */
inline std::string_view version() noexcept { return sio_version(); }

/** `s` as a JSON string literal, quotes included, for building payloads. */
inline std::string quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += ch;
            }
        }
    }
    out += '"';
    return out;
}

/** The placeholder of binary buffer `n`, to put in a payload's JSON. */
inline std::string bin(std::size_t n) {
    return "{\"_placeholder\":true,\"num\":" + std::to_string(n) + "}";
}

/** An outgoing payload: a JSON array of arguments and the buffers its
 *  placeholders index. Owns copies of the bytes. */
class Payload {
  public:
    /** No arguments. */
    Payload() : json_("[]") {}
    /** Arguments as a JSON array, e.g. "[1,\"two\"]". */
    Payload(std::string json) : json_(std::move(json)) {}
    Payload(const char *json) : json_(json ? json : "[]") {}
    /** With buffers: `json` places them with sio::bin(i). */
    Payload(std::string json, std::vector<std::vector<std::uint8_t>> bins)
        : json_(std::move(json)), bins_(std::move(bins)) {}

    /** Appends a buffer; returns its placeholder. */
    std::string add(const void *data, std::size_t size) {
        auto p = static_cast<const std::uint8_t *>(data);
        bins_.emplace_back(p, p + size);
        return bin(bins_.size() - 1);
    }

    const std::string &json() const noexcept { return json_; }
    const std::vector<std::vector<std::uint8_t>> &bins() const noexcept { return bins_; }

    /** The buffers as the C API takes them (valid while this lives). */
    std::vector<sio_buf> raw_bins() const {
        std::vector<sio_buf> v;
        v.reserve(bins_.size());
        for (auto &b : bins_) v.push_back(sio_buf{b.data(), b.size()});
        return v;
    }

  private:
    std::string json_;
    std::vector<std::vector<std::uint8_t>> bins_;
};

/** An incoming payload, borrowed for the time of a callback. */
class Args {
  public:
    explicit Args(const sio_payload *p) : p_(p) {}
    /** The JSON array of arguments (placeholders for buffers). */
    std::string_view json() const noexcept {
        return p_ ? std::string_view(p_->json, p_->json_len) : std::string_view("[]");
    }
    /** How many buffers. */
    std::size_t bin_count() const noexcept { return p_ ? p_->n_bins : 0; }
    /** Buffer `i`, as a view. */
    std::string_view bin(std::size_t i) const {
        if (i >= bin_count()) throw std::out_of_range("sio::Args::bin");
        auto &b = p_->bins[i];
        return std::string_view(reinterpret_cast<const char *>(b.data), b.len);
    }
    /** An owned copy, e.g. to send back. */
    Payload payload() const {
        std::vector<std::vector<std::uint8_t>> bins;
        for (std::size_t i = 0; i < bin_count(); i++) {
            auto &b = p_->bins[i];
            bins.emplace_back(b.data, b.data + b.len);
        }
        return Payload(std::string(json()), std::move(bins));
    }

  private:
    const sio_payload *p_;
};

namespace detail {

inline void report(const char *where) noexcept {
    try {
        throw;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "socketio.hpp: exception in a callback (%s): %s\n", where, e.what());
    } catch (...) {
        std::fprintf(stderr, "socketio.hpp: exception in a callback (%s)\n", where);
    }
}

template <class F> void destroy(void *p) noexcept { delete static_cast<F *>(p); }

/** A heap copy of a callable, as user_data, with its deleter. */
template <class F> void *box(F f) { return new F(std::move(f)); }

} // namespace detail

/** An acknowledgement request to answer once (owned; see the header). */
class Ack {
  public:
    explicit Ack(sio_ack *a = nullptr) noexcept : a_(a) {}
    Ack(Ack &&o) noexcept : a_(std::exchange(o.a_, nullptr)) {}
    Ack &operator=(Ack &&o) noexcept {
        if (this != &o) {
            sio_ack_free(a_);
            a_ = std::exchange(o.a_, nullptr);
        }
        return *this;
    }
    Ack(const Ack &) = delete;
    Ack &operator=(const Ack &) = delete;
    ~Ack() { sio_ack_free(a_); }

    /** True when the sender asked for an acknowledgement not sent yet. */
    explicit operator bool() const noexcept { return a_ != nullptr; }

    /** Answers (once). */
    void send(const Payload &p = Payload()) {
        if (!a_) throw Error(SIO_ERR_STATE, "no acknowledgement to send");
        auto bins = p.raw_bins();
        check(sio_ack_send(std::exchange(a_, nullptr), p.json().c_str(), bins.data(), bins.size()));
    }

  private:
    sio_ack *a_;
};

/** The answer to another server's server_side_emit_with_ack, to give once
 *  (owned): handed to a Server::on_server_side_emit callback when the sender
 *  waits for answers; released silently when destroyed unanswered. */
class ServerSideAck {
  public:
    explicit ServerSideAck(sio_server_side_ack *a = nullptr) noexcept : a_(a) {}
    ServerSideAck(ServerSideAck &&o) noexcept : a_(std::exchange(o.a_, nullptr)) {}
    ServerSideAck &operator=(ServerSideAck &&o) noexcept {
        if (this != &o) {
            sio_server_side_ack_free(a_);
            a_ = std::exchange(o.a_, nullptr);
        }
        return *this;
    }
    ServerSideAck(const ServerSideAck &) = delete;
    ServerSideAck &operator=(const ServerSideAck &) = delete;
    ~ServerSideAck() { sio_server_side_ack_free(a_); }

    /** True when the sending server waits for an answer not sent yet. */
    explicit operator bool() const noexcept { return a_ != nullptr; }

    /** Answers (once) with one JSON value, e.g. "{\"ok\":true}" (not an
     *  array of arguments: each server answers with one value). The answer
     *  is used up even when this throws. */
    void send(const std::string &json_value = "null") {
        if (!a_) throw Error(SIO_ERR_STATE, "no server-side acknowledgement to send");
        check(sio_server_side_ack_send(std::exchange(a_, nullptr), json_value.c_str()));
    }

  private:
    sio_server_side_ack *a_;
};

/** A middleware's verdict to give once; refuses when destroyed unanswered. */
class Next {
  public:
    explicit Next(sio_next *n) noexcept : n_(n) {}
    Next(Next &&o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
    Next &operator=(Next &&o) noexcept {
        if (this != &o) {
            drop();
            n_ = std::exchange(o.n_, nullptr);
        }
        return *this;
    }
    Next(const Next &) = delete;
    Next &operator=(const Next &) = delete;
    ~Next() { drop(); }

    /** Lets the connection through. */
    void accept() { check(sio_next_accept(take())); }
    /** Refuses it with a message and optional data (one JSON value). */
    void refuse(const std::string &message, const std::string &data_json = std::string()) {
        check(sio_next_refuse(take(), message.c_str(), data_json.empty() ? nullptr : data_json.c_str()));
    }

  private:
    sio_next *take() {
        if (!n_) throw Error(SIO_ERR_STATE, "the verdict was already given");
        return std::exchange(n_, nullptr);
    }
    void drop() noexcept {
        if (n_) sio_next_refuse(std::exchange(n_, nullptr), "refused", nullptr);
    }
    sio_next *n_;
};

/** The outcome of an asynchronous call with a payload. */
using ReplyFn = std::function<void(int status, std::string_view error, Args args)>;
/** The outcome of an asynchronous call without a result. */
using DoneFn = std::function<void(int status, std::string_view error)>;

namespace detail {

inline void reply_tramp(void *ud, int status, const char *error, const sio_payload *args) noexcept {
    try {
        auto &f = *static_cast<ReplyFn *>(ud);
        if (f) f(status, error ? error : "", Args(args));
    } catch (...) {
        report("reply");
    }
}

inline void done_tramp(void *ud, int status, const char *error) noexcept {
    try {
        auto &f = *static_cast<DoneFn *>(ud);
        if (f) f(status, error ? error : "");
    } catch (...) {
        report("completion");
    }
}

} // namespace detail

class Broadcast;
class Namespace;

/** A client's connection to a namespace (server side). */
class Socket {
  public:
    /** A borrowed view of a socket a callback received. */
    static Socket borrow(const sio_socket *s) noexcept { return Socket(const_cast<sio_socket *>(s), false); }

    Socket(const Socket &o) : s_(nullptr), owned_(true) { check(sio_socket_clone(o.s_, &s_)); }
    Socket(Socket &&o) noexcept : s_(std::exchange(o.s_, nullptr)), owned_(o.owned_) {}
    Socket &operator=(Socket o) noexcept {
        std::swap(s_, o.s_);
        std::swap(owned_, o.owned_);
        return *this;
    }
    ~Socket() {
        if (owned_) sio_socket_free(s_);
    }

    const sio_socket *raw() const noexcept { return s_; }
    std::string id() const { return sio_socket_id(s_); }
    std::string nsp() const { return sio_socket_nsp(s_); }
    bool connected() const noexcept { return sio_socket_connected(s_); }
    /** "polling" or "websocket": the transport carrying the connection now. */
    std::string transport() const { return sio_socket_transport(s_); }
    /** Whether the socket came back through connection state recovery. */
    bool recovered() const noexcept { return sio_socket_recovered(s_); }

    /** The handshake as a JSON object (auth, query, headers, address...). */
    std::string handshake() const { return take_string(sio_socket_handshake, "handshake"); }
    /** The rooms as a JSON array. */
    std::string rooms() const { return take_string(sio_socket_rooms, "rooms"); }
    /** `socket.data` as JSON. */
    std::string data() const { return take_string(sio_socket_get_data, "data"); }
    void set_data(const std::string &json) { check(sio_socket_set_data(s_, json.c_str())); }

    using EventFn = std::function<void(Socket &socket, Args args, Ack ack)>;
    using AnyFn = std::function<void(Socket &socket, std::string_view event, Args args)>;
    using ReasonFn = std::function<void(Socket &socket, std::string_view reason)>;
    /** A per-event middleware's verdict: std::nullopt lets the event
     *  through, a message stops it (and goes to the on_error callbacks). */
    using EventMiddlewareFn =
        std::function<std::optional<std::string>(Socket &socket, std::string_view event, Args args)>;
    /** Called with the message of an event a middleware stopped. */
    using ErrorFn = std::function<void(Socket &socket, std::string_view message)>;

    /** Handles an event; `ack` is empty unless the client asked for one. */
    void on(const std::string &event, EventFn fn) {
        check(sio_socket_on(s_, event.c_str(), &event_tramp, detail::box(std::move(fn)), &detail::destroy<EventFn>));
    }
    void off(const std::string &event) { check(sio_socket_off(s_, event.c_str())); }
    /** Handles the events without a handler of their own, with their ack. */
    using FallbackFn = std::function<void(Socket &socket, std::string_view event, Args args, Ack ack)>;
    void on_fallback(FallbackFn fn) {
        check(sio_socket_on_fallback(s_, &fallback_tramp, detail::box(std::move(fn)), &detail::destroy<FallbackFn>));
    }
    /** Listens to every incoming event; returns an id for off_any. */
    std::uint64_t on_any(AnyFn fn) {
        std::uint64_t id = 0;
        check(sio_socket_on_any(s_, &any_tramp, detail::box(std::move(fn)), &detail::destroy<AnyFn>, &id));
        return id;
    }
    void off_any(std::uint64_t id) { check(sio_socket_off_any(s_, id)); }
    void on_disconnect(ReasonFn fn) {
        check(sio_socket_on_disconnect(s_, &reason_tramp, detail::box(std::move(fn)), &detail::destroy<ReasonFn>));
    }
    void on_disconnecting(ReasonFn fn) {
        check(sio_socket_on_disconnecting(s_, &reason_tramp, detail::box(std::move(fn)),
                                          &detail::destroy<ReasonFn>));
    }

    /** Adds a per-event middleware (`socket.use`), run in order before the
     *  event's own callback, to check or refuse incoming events in one
     *  place. An exception escaping it stops the event with its message.
     *  With an event queue, a runtime thread waits for the queue's poller
     *  to run it. */
    void use(EventMiddlewareFn fn) {
        check(sio_socket_use(s_, &use_tramp, detail::box(std::move(fn)), &detail::destroy<EventMiddlewareFn>));
    }
    /** Hears why a use() middleware stopped an event (its message, or the
     *  error's JSON when it is not a string). */
    void on_error(ErrorFn fn) {
        check(sio_socket_on_error(s_, &error_tramp, detail::box(std::move(fn)), &detail::destroy<ErrorFn>));
    }
    /** Listens to every event this socket emits (`onAnyOutgoing`), e.g. for
     *  logging; returns an id for off_any_outgoing. */
    std::uint64_t on_any_outgoing(AnyFn fn) {
        std::uint64_t id = 0;
        check(sio_socket_on_any_outgoing(s_, &any_tramp, detail::box(std::move(fn)), &detail::destroy<AnyFn>, &id));
        return id;
    }
    /** Removes the outgoing listener `id` (from on_any_outgoing). */
    void off_any_outgoing(std::uint64_t id) { check(sio_socket_off_any_outgoing(s_, id)); }

    void emit(const std::string &event, const Payload &p = Payload()) {
        auto bins = p.raw_bins();
        check(sio_socket_emit(s_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }
    void emit_volatile(const std::string &event, const Payload &p = Payload()) {
        auto bins = p.raw_bins();
        check(sio_socket_emit_volatile(s_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }
    /** Emits and calls `fn` with the client's answer (timeout 0: the
     *  server's ack timeout). */
    void emit_with_ack(const std::string &event, const Payload &p, ReplyFn fn, std::uint32_t timeout_ms = 0) {
        auto bins = p.raw_bins();
        check(sio_socket_emit_with_ack(s_, event.c_str(), p.json().c_str(), bins.data(), bins.size(), timeout_ms,
                                       &detail::reply_tramp, detail::box(std::move(fn)), &detail::destroy<ReplyFn>));
    }

    void join(const std::string &room) { check(sio_socket_join(s_, room.c_str())); }
    void leave(const std::string &room) { check(sio_socket_leave(s_, room.c_str())); }
    void disconnect(bool close = false) { check(sio_socket_disconnect(s_, close)); }

    inline Broadcast to(const std::string &room) const;
    inline Broadcast except(const std::string &room) const;
    inline Broadcast broadcast() const;
    inline Namespace ns() const;

  private:
    Socket(sio_socket *s, bool owned) noexcept : s_(s), owned_(owned) {}

    std::string take_string(int (*f)(const sio_socket *, char **), const char *) const {
        char *out = nullptr;
        check(f(s_, &out));
        std::string s(out ? out : "");
        sio_string_free(out);
        return s;
    }

    static void event_tramp(void *ud, const sio_socket *s, const char *, const sio_payload *args,
                            sio_ack *a) noexcept {
        Ack ack(a);
        try {
            Socket sock = borrow(s);
            (*static_cast<EventFn *>(ud))(sock, Args(args), std::move(ack));
        } catch (...) {
            detail::report("event");
        }
    }
    static void fallback_tramp(void *ud, const sio_socket *s, const char *event, const sio_payload *args,
                               sio_ack *a) noexcept {
        Ack ack(a);
        try {
            Socket sock = borrow(s);
            (*static_cast<FallbackFn *>(ud))(sock, event, Args(args), std::move(ack));
        } catch (...) {
            detail::report("fallback");
        }
    }
    static void any_tramp(void *ud, const sio_socket *s, const char *event, const sio_payload *args) noexcept {
        try {
            Socket sock = borrow(s);
            (*static_cast<AnyFn *>(ud))(sock, event, Args(args));
        } catch (...) {
            detail::report("any");
        }
    }
    static void reason_tramp(void *ud, const sio_socket *s, const char *reason) noexcept {
        try {
            Socket sock = borrow(s);
            (*static_cast<ReasonFn *>(ud))(sock, reason);
        } catch (...) {
            detail::report("disconnect");
        }
    }
    // The library copies the message as soon as this returns, on this
    // thread: a thread-local string keeps it alive until then.
    static const char *use_tramp(void *ud, const sio_socket *s, const char *event, const sio_payload *args) noexcept {
        thread_local std::string message;
        try {
            Socket sock = borrow(s);
            std::optional<std::string> verdict = (*static_cast<EventMiddlewareFn *>(ud))(sock, event, Args(args));
            if (!verdict) return nullptr;
            message = std::move(*verdict);
            return message.c_str();
        } catch (const std::exception &e) {
            detail::report("event middleware");
            try {
                message = e.what();
                return message.c_str();
            } catch (...) {
                return "exception in an event middleware";
            }
        } catch (...) {
            detail::report("event middleware");
            return "exception in an event middleware";
        }
    }
    static void error_tramp(void *ud, const sio_socket *s, const char *message) noexcept {
        try {
            Socket sock = borrow(s);
            (*static_cast<ErrorFn *>(ud))(sock, message ? message : "");
        } catch (...) {
            detail::report("socket error");
        }
    }

    sio_socket *s_;
    bool owned_;
};

/** Replies to a broadcast with acknowledgements. */
struct BroadcastReplies {
    /** Each answering socket's id with its answer (owned copies). */
    std::vector<std::pair<std::string, Payload>> replies;
    /** Ids of the sockets that did not answer in time. */
    std::vector<std::string> missing;
    /** The other servers' clients' answers, a JSON array (their first
     * argument each); "[]" without a cluster adapter. */
    Payload remote;
    /** Whether every other server reported and all its clients answered. */
    bool remote_complete = true;
};

using SocketsFn = std::function<void(int status, std::string_view error, std::vector<Socket> sockets)>;
/** This server's sockets, and the other servers' as a JSON array of
 * `{id, handshake, rooms, data}`. */
using ClusterSocketsFn =
    std::function<void(int status, std::string_view error, std::vector<Socket> sockets, Payload remote)>;

namespace detail {

inline std::vector<Socket> own_sockets(const sio_socket *const *sockets, std::size_t n) {
    std::vector<Socket> v;
    v.reserve(n);
    for (std::size_t i = 0; i < n; i++) {
        Socket borrowed = Socket::borrow(sockets[i]);
        v.push_back(borrowed); // a copy: an owned handle
    }
    return v;
}

inline void sockets_tramp(void *ud, int status, const char *error, const sio_socket *const *sockets,
                          std::size_t n) noexcept {
    try {
        (*static_cast<SocketsFn *>(ud))(status, error ? error : "", own_sockets(sockets, n));
    } catch (...) {
        report("fetch_sockets");
    }
}

inline void cluster_sockets_tramp(void *ud, int status, const char *error, const sio_socket *const *sockets,
                                  std::size_t n, const sio_payload *remote) noexcept {
    try {
        (*static_cast<ClusterSocketsFn *>(ud))(status, error ? error : "", own_sockets(sockets, n),
                                               Args(remote).payload());
    } catch (...) {
        report("fetch_all_sockets");
    }
}

} // namespace detail

/** A broadcast being built (operators chain), then emitted. */
class Broadcast {
  public:
    explicit Broadcast(sio_broadcast *b) noexcept : b_(b) {}
    Broadcast(Broadcast &&o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
    Broadcast &operator=(Broadcast &&o) noexcept {
        std::swap(b_, o.b_);
        return *this;
    }
    Broadcast(const Broadcast &) = delete;
    Broadcast &operator=(const Broadcast &) = delete;
    ~Broadcast() { sio_broadcast_free(b_); }

    Broadcast &to(const std::string &room) { return chain(sio_broadcast_to(b_, room.c_str())); }
    Broadcast &except(const std::string &room) { return chain(sio_broadcast_except(b_, room.c_str())); }
    Broadcast &local() { return chain(sio_broadcast_local(b_)); }
    Broadcast &volatile_() { return chain(sio_broadcast_volatile(b_)); }
    Broadcast &compress(bool on) { return chain(sio_broadcast_compress(b_, on)); }
    Broadcast &timeout(std::uint32_t ms) { return chain(sio_broadcast_timeout(b_, ms)); }

    void emit(const std::string &event, const Payload &p = Payload()) const {
        auto bins = p.raw_bins();
        check(sio_broadcast_emit(b_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }

    using AcksFn = std::function<void(int status, std::string_view error, BroadcastReplies replies)>;

    /** Emits and collects the acknowledgements of the whole cluster until
     * the timeout. */
    void emit_with_ack(const std::string &event, const Payload &p, AcksFn fn) const {
        auto bins = p.raw_bins();
        check(sio_broadcast_emit_with_ack_all(b_, event.c_str(), p.json().c_str(), bins.data(), bins.size(),
                                              &acks_tramp, detail::box(std::move(fn)), &detail::destroy<AcksFn>));
    }
    /** This server's matching sockets. */
    void fetch_sockets(SocketsFn fn) const {
        check(sio_broadcast_fetch_sockets(b_, &detail::sockets_tramp, detail::box(std::move(fn)),
                                          &detail::destroy<SocketsFn>));
    }
    /** The whole cluster's matching sockets. */
    void fetch_all_sockets(ClusterSocketsFn fn) const {
        check(sio_broadcast_fetch_all_sockets(b_, &detail::cluster_sockets_tramp, detail::box(std::move(fn)),
                                              &detail::destroy<ClusterSocketsFn>));
    }
    void join(const std::string &room) const { check(sio_broadcast_join(b_, room.c_str())); }
    void leave(const std::string &room) const { check(sio_broadcast_leave(b_, room.c_str())); }
    void disconnect(bool close = false) const { check(sio_broadcast_disconnect(b_, close)); }

  private:
    Broadcast &chain(int status) {
        check(status);
        return *this;
    }
    static void acks_tramp(void *ud, int status, const char *error, const sio_ack_reply *replies,
                           std::size_t n_replies, const char *const *missing, std::size_t n_missing,
                           const sio_payload *remote, bool remote_complete) noexcept {
        try {
            BroadcastReplies r;
            for (std::size_t i = 0; i < n_replies; i++) {
                r.replies.emplace_back(replies[i].socket_id, Args(&replies[i].args).payload());
            }
            for (std::size_t i = 0; i < n_missing; i++) r.missing.emplace_back(missing[i]);
            r.remote = Args(remote).payload();
            r.remote_complete = remote_complete;
            (*static_cast<AcksFn *>(ud))(status, error ? error : "", std::move(r));
        } catch (...) {
            detail::report("broadcast ack");
        }
    }
    sio_broadcast *b_;
};

class ParentNamespace;

/** A namespace of a server. */
class Namespace {
    friend class ParentNamespace; // shares the connection and middleware trampolines

  public:
    explicit Namespace(sio_namespace *ns) noexcept : ns_(ns) {}
    Namespace(Namespace &&o) noexcept : ns_(std::exchange(o.ns_, nullptr)) {}
    Namespace &operator=(Namespace &&o) noexcept {
        std::swap(ns_, o.ns_);
        return *this;
    }
    Namespace(const Namespace &) = delete;
    Namespace &operator=(const Namespace &) = delete;
    ~Namespace() { sio_namespace_free(ns_); }

    std::string name() const { return sio_namespace_name(ns_); }

    using ConnectionFn = std::function<void(Socket &socket)>;
    using MiddlewareFn = std::function<void(Socket &socket, Next next)>;

    /** Every joining socket; its events wait until this returns. */
    void on_connection(ConnectionFn fn) {
        check(sio_namespace_on_connection(ns_, &connection_tramp, detail::box(std::move(fn)),
                                          &detail::destroy<ConnectionFn>));
    }
    /** A middleware: accept or refuse through `next`, now or later. */
    void use(MiddlewareFn fn) {
        check(sio_namespace_use(ns_, &middleware_tramp, detail::box(std::move(fn)), &detail::destroy<MiddlewareFn>));
    }
    void emit(const std::string &event, const Payload &p = Payload()) const {
        auto bins = p.raw_bins();
        check(sio_namespace_emit(ns_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }
    Broadcast broadcast() const {
        sio_broadcast *b = nullptr;
        check(sio_namespace_broadcast(ns_, &b));
        return Broadcast(b);
    }
    Broadcast to(const std::string &room) const {
        sio_broadcast *b = nullptr;
        check(sio_namespace_to(ns_, room.c_str(), &b));
        return Broadcast(b);
    }
    Broadcast except(const std::string &room) const {
        sio_broadcast *b = nullptr;
        check(sio_namespace_except(ns_, room.c_str(), &b));
        return Broadcast(b);
    }
    void fetch_sockets(SocketsFn fn) const {
        check(sio_namespace_fetch_sockets(ns_, &detail::sockets_tramp, detail::box(std::move(fn)),
                                          &detail::destroy<SocketsFn>));
    }
    std::size_t socket_count() const {
        std::size_t n = 0;
        check(sio_namespace_socket_count(ns_, &n));
        return n;
    }

  private:
    static void connection_tramp(void *ud, const sio_socket *s) noexcept {
        try {
            Socket sock = Socket::borrow(s);
            (*static_cast<ConnectionFn *>(ud))(sock);
        } catch (...) {
            detail::report("connection");
        }
    }
    static void middleware_tramp(void *ud, const sio_socket *s, sio_next *n) noexcept {
        Next next(n);
        try {
            Socket sock = Socket::borrow(s);
            (*static_cast<MiddlewareFn *>(ud))(sock, std::move(next));
        } catch (...) {
            detail::report("middleware");
        }
    }
    sio_namespace *ns_;
};

/** A parent namespace (Server::of_regex, Server::of_dynamic): every
 *  namespace name it matches becomes a child, created on first connection,
 *  sharing the parent's connection callbacks and middlewares — for names
 *  not known in advance (one namespace per room, per tenant...). Destroying
 *  this handle does not remove the parent: it lives on with the server. */
class ParentNamespace {
  public:
    explicit ParentNamespace(sio_parent_namespace *p) noexcept : p_(p) {}
    ParentNamespace(ParentNamespace &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    ParentNamespace &operator=(ParentNamespace &&o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ParentNamespace(const ParentNamespace &) = delete;
    ParentNamespace &operator=(const ParentNamespace &) = delete;
    ~ParentNamespace() { sio_parent_namespace_free(p_); }

    /** Every socket joining any child namespace (Socket::nsp() names the
     *  child); its events wait until this returns. */
    void on_connection(Namespace::ConnectionFn fn) {
        check(sio_parent_namespace_on_connection(p_, &Namespace::connection_tramp, detail::box(std::move(fn)),
                                                 &detail::destroy<Namespace::ConnectionFn>));
    }
    /** A middleware for every socket joining any child, run before the
     *  child's own: accept or refuse through `next`, now or later. */
    void use(Namespace::MiddlewareFn fn) {
        check(sio_parent_namespace_use(p_, &Namespace::middleware_tramp, detail::box(std::move(fn)),
                                       &detail::destroy<Namespace::MiddlewareFn>));
    }
    /** How many child namespaces the parent has created so far. */
    std::size_t child_count() const {
        std::size_t n = 0;
        check(sio_parent_namespace_child_count(p_, &n));
        return n;
    }
    const sio_parent_namespace *raw() const noexcept { return p_; }

  private:
    sio_parent_namespace *p_;
};

inline Broadcast Socket::to(const std::string &room) const {
    sio_broadcast *b = nullptr;
    check(sio_socket_to(s_, room.c_str(), &b));
    return Broadcast(b);
}

inline Broadcast Socket::except(const std::string &room) const {
    sio_broadcast *b = nullptr;
    check(sio_socket_except(s_, room.c_str(), &b));
    return Broadcast(b);
}

inline Broadcast Socket::broadcast() const {
    sio_broadcast *b = nullptr;
    check(sio_socket_broadcast(s_, &b));
    return Broadcast(b);
}

inline Namespace Socket::ns() const {
    sio_namespace *n = nullptr;
    check(sio_socket_namespace(s_, &n));
    return Namespace(n);
}

/** A runtime with its own threads (0: one per CPU). */
class Runtime {
  public:
    explicit Runtime(std::size_t threads = 0) { check(sio_runtime_new(threads, &rt_)); }
    Runtime(Runtime &&o) noexcept : rt_(std::exchange(o.rt_, nullptr)) {}
    Runtime(const Runtime &) = delete;
    Runtime &operator=(const Runtime &) = delete;
    Runtime &operator=(Runtime &&o) noexcept {
        std::swap(rt_, o.rt_);
        return *this;
    }
    ~Runtime() { sio_runtime_free(rt_); }
    const sio_runtime *raw() const noexcept { return rt_; }

  private:
    sio_runtime *rt_ = nullptr;
};

/** An event queue: callbacks run inside poll() on your thread. */
class Queue {
  public:
    Queue() { check(sio_queue_new(&q_)); }
    Queue(Queue &&o) noexcept : q_(std::exchange(o.q_, nullptr)) {}
    Queue(const Queue &) = delete;
    Queue &operator=(const Queue &) = delete;
    Queue &operator=(Queue &&o) noexcept {
        std::swap(q_, o.q_);
        return *this;
    }
    ~Queue() { sio_queue_free(q_); }
    const sio_queue *raw() const noexcept { return q_; }

    /** Readable while callbacks wait (for poll/epoll/select). */
    int fd() const {
        int fd = -1;
        check(sio_queue_fd(q_, &fd));
        return fd;
    }
    /** Runs the waiting callbacks, first waiting up to `timeout_ms` (< 0:
     *  forever) for one; returns how many ran. */
    std::size_t poll(int timeout_ms = 0) const {
        std::size_t n = 0;
        check(sio_queue_poll(q_, timeout_ms, &n));
        return n;
    }

  private:
    sio_queue *q_ = nullptr;
};

/** A request the engine is deciding on, borrowed for a hook's duration. */
class Request {
  public:
    explicit Request(const sio_request *r) noexcept : r_(r) {}
    std::string method() const { return str(sio_request_method(r_)); }
    /** The path with its query. */
    std::string url() const { return str(sio_request_url(r_)); }
    /** A header's value (repeated ones joined with ", "), if present. */
    std::optional<std::string> header(const std::string &name) const {
        const char *v = sio_request_header(r_, name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
    }
    /** The peer's IP address, empty when unknown. */
    std::string remote_address() const { return str(sio_request_remote_address(r_)); }

  private:
    static std::string str(const char *s) { return s ? s : ""; }
    const sio_request *r_;
};

/** Server options (engine.io's and socket.io's); setters chain. */
class ServerOptions {
  public:
    /** Accepts a request (nullopt) or refuses it with a message (403). */
    using AllowRequestFn = std::function<std::optional<std::string>(const Request &req)>;
    /** Edits response headers through `set(name, value)`. */
    using HeadersFn = std::function<void(const Request &req, const std::function<void(const std::string &,
                                                                                      const std::string &)> &set)>;
    /** A refused request: engine.io's code, message and context (JSON). */
    using ConnectionErrorFn =
        std::function<void(const Request &req, int code, std::string_view message, std::string_view context)>;
    ServerOptions() { check(sio_server_options_new(&o_)); }
    ServerOptions(ServerOptions &&o) noexcept : o_(std::exchange(o.o_, nullptr)) {}
    ServerOptions(const ServerOptions &) = delete;
    ServerOptions &operator=(const ServerOptions &) = delete;
    ~ServerOptions() { sio_server_options_free(o_); }

    ServerOptions &path(const std::string &p) { return chain(sio_server_options_set_path(o_, p.c_str())); }
    ServerOptions &ping_interval(std::uint32_t ms) { return chain(sio_server_options_set_ping_interval(o_, ms)); }
    ServerOptions &ping_timeout(std::uint32_t ms) { return chain(sio_server_options_set_ping_timeout(o_, ms)); }
    ServerOptions &connect_timeout(std::uint32_t ms) { return chain(sio_server_options_set_connect_timeout(o_, ms)); }
    ServerOptions &ack_timeout(std::uint32_t ms) { return chain(sio_server_options_set_ack_timeout(o_, ms)); }
    ServerOptions &max_payload(std::size_t bytes) { return chain(sio_server_options_set_max_payload(o_, bytes)); }
    /** Most binary attachments one incoming packet may carry (default 10),
     *  bounding what a client can make the server buffer. */
    ServerOptions &max_attachments(std::size_t n) { return chain(sio_server_options_set_max_attachments(o_, n)); }
    ServerOptions &max_connections(std::size_t n) { return chain(sio_server_options_set_max_connections(o_, n)); }
    ServerOptions &transports(std::uint32_t mask) { return chain(sio_server_options_set_transports(o_, mask)); }
    /** Whether polling connections may upgrade to WebSocket (default true);
     *  off, they stay on long-polling. */
    ServerOptions &allow_upgrades(bool allow) { return chain(sio_server_options_set_allow_upgrades(o_, allow)); }
    /** Whether Socket.IO v2 clients (Engine.IO protocol 3) may connect
     *  (default false), as the reference's `allowEIO3`. */
    ServerOptions &allow_eio3(bool allow) { return chain(sio_server_options_set_allow_eio3(o_, allow)); }
    ServerOptions &cors_origin(const std::string &origin) {
        return chain(sio_server_options_set_cors_origin(o_, origin.c_str()));
    }
    /** After cors_origin: Access-Control-Allow-Credentials. */
    ServerOptions &cors_credentials(bool on) { return chain(sio_server_options_set_cors_credentials(o_, on)); }
    /** After cors_origin: the rest of the policy, as the cors package's
     *  options (empty: its default; max_age_s < 0: none). */
    ServerOptions &cors_headers(const std::string &methods, const std::string &allowed_headers,
                                const std::string &exposed_headers, std::int64_t max_age_s = -1) {
        return chain(sio_server_options_set_cors_headers(o_, methods.empty() ? nullptr : methods.c_str(),
                                                         allowed_headers.empty() ? nullptr : allowed_headers.c_str(),
                                                         exposed_headers.empty() ? nullptr : exposed_headers.c_str(),
                                                         max_age_s));
    }
    ServerOptions &upgrade_timeout(std::uint32_t ms) { return chain(sio_server_options_set_upgrade_timeout(o_, ms)); }
    /** WebSocket compression (engine.io's perMessageDeflate), off by default. */
    ServerOptions &per_message_deflate(bool on, std::size_t threshold = 1024) {
        return chain(sio_server_options_set_per_message_deflate(o_, on, threshold));
    }
    /** Compresses polling answers of at least `threshold` bytes (on, 1024,
     *  by default). */
    ServerOptions &http_compression(bool on, std::size_t threshold = 1024) {
        return chain(sio_server_options_set_http_compression(o_, on, threshold));
    }
    /** The session cookie of the handshake (engine.io's `cookie`); empty
     *  strings take its defaults, max_age_s < 0 makes a session cookie. */
    ServerOptions &cookie(const std::string &name = "io", const std::string &path = "/", bool http_only = true,
                          const std::string &same_site = "Lax", bool secure = false, std::int64_t max_age_s = -1) {
        return chain(sio_server_options_set_cookie(o_, name.empty() ? nullptr : name.c_str(),
                                                   path.empty() ? nullptr : path.c_str(), http_only,
                                                   same_site.empty() ? nullptr : same_site.c_str(), secure,
                                                   max_age_s));
    }
    /** No session cookie (the default), after cookie(). */
    ServerOptions &no_cookie() { return chain(sio_server_options_clear_cookie(o_)); }
    /** engine.io's allowRequest; runs on a runtime thread, synchronously. An
     *  exception escaping it refuses the request. */
    ServerOptions &allow_request(AllowRequestFn fn) {
        return chain(sio_server_options_set_allow_request(o_, &allow_tramp, detail::box(std::move(fn)),
                                                          &detail::destroy<AllowRequestFn>));
    }
    /** engine.io's `initial_headers` (initial) or `headers` events. */
    ServerOptions &headers(bool initial, HeadersFn fn) {
        return chain(sio_server_options_set_headers(o_, initial, &headers_tramp, detail::box(std::move(fn)),
                                                    &detail::destroy<HeadersFn>));
    }
    /** engine.io's `connection_error` event. */
    ServerOptions &on_connection_error(ConnectionErrorFn fn) {
        return chain(sio_server_options_on_connection_error(o_, &connection_error_tramp, detail::box(std::move(fn)),
                                                            &detail::destroy<ConnectionErrorFn>));
    }
    /** Serves the official browser client under the path, as socket.io's
     *  serveClient (<path>/socket.io.js, .min.js, .msgpack.min.js,
     *  .esm.min.js and their maps), from the npm package socket.io-client
     *  in `dir` (node_modules/socket.io-client), read now: throws SIO_ERR_IO
     *  naming the missing files. Empty stops serving it (the default). */
    ServerOptions &serve_client(const std::string &dir) {
        return chain(sio_server_options_set_serve_client(o_, dir.empty() ? nullptr : dir.c_str()));
    }
    ServerOptions &recovery(bool on, std::uint32_t max_disconnection_ms = 120000) {
        return chain(sio_server_options_set_recovery(o_, on, max_disconnection_ms));
    }
    ServerOptions &msgpack(bool on) { return chain(sio_server_options_set_msgpack(o_, on)); }
    /** Joins a cluster through Redis at `url` (e.g. "redis://127.0.0.1:6379")
     *  instead of the in-memory adapter, so broadcasts and server-side
     *  emits reach the other servers. `flavour` is the Node adapter whose
     *  wire format to speak: "classic" (empty: the default), "sharded" or
     *  "streams"; `key` the channel prefix (empty: "socket.io"). Creating
     *  the Server then connects, and throws SIO_ERR_IO when Redis cannot be
     *  reached. */
    ServerOptions &redis(const std::string &url, const std::string &flavour = std::string(),
                         const std::string &key = std::string()) {
        return chain(sio_server_options_set_redis(o_, url.c_str(), flavour.empty() ? nullptr : flavour.c_str(),
                                                  key.empty() ? nullptr : key.c_str()));
    }
    ServerOptions &runtime(const Runtime &rt) { return chain(sio_server_options_set_runtime(o_, rt.raw())); }
    ServerOptions &queue(const Queue &q) { return chain(sio_server_options_set_queue(o_, q.raw())); }
    const sio_server_options *raw() const noexcept { return o_; }

  private:
    ServerOptions &chain(int status) {
        check(status);
        return *this;
    }
    static const char *allow_tramp(void *ud, const sio_request *req) noexcept {
        // The refusal outlives the call only until the library copies it.
        thread_local std::string refusal;
        try {
            auto r = (*static_cast<AllowRequestFn *>(ud))(Request(req));
            if (!r) return nullptr;
            refusal = std::move(*r);
        } catch (...) {
            refusal = "Forbidden";
        }
        return refusal.c_str();
    }
    static void headers_tramp(void *ud, const sio_request *req, sio_headers *h) noexcept {
        try {
            (*static_cast<HeadersFn *>(ud))(Request(req), [h](const std::string &name, const std::string &value) {
                check(sio_headers_set(h, name.c_str(), value.c_str()));
            });
        } catch (...) {
            detail::report("headers");
        }
    }
    static void connection_error_tramp(void *ud, const sio_request *req, int code, const char *message,
                                       const char *context) noexcept {
        try {
            (*static_cast<ConnectionErrorFn *>(ud))(Request(req), code, message, context);
        } catch (...) {
            detail::report("connection_error");
        }
    }
    sio_server_options *o_ = nullptr;
};

/** Options of Server::instrument (the Socket.IO Admin UI, as
 *  @socket.io/admin-ui's instrument(io, opts)); setters chain. A login must
 *  be chosen: basic_auth, auth_check or no_auth. */
class AdminOptions {
  public:
    /** Decides whether the UI may log in from the CONNECT payload it sent
     *  (a JSON object); runs through the server's queue when it has one,
     *  else on a thread of its own, so it may block. An exception escaping
     *  it refuses. */
    using AuthFn = std::function<bool(std::string_view auth_json)>;

    AdminOptions() { check(sio_admin_options_new(&o_)); }
    AdminOptions(AdminOptions &&o) noexcept : o_(std::exchange(o.o_, nullptr)) {}
    AdminOptions(const AdminOptions &) = delete;
    AdminOptions &operator=(const AdminOptions &) = delete;
    ~AdminOptions() { sio_admin_options_free(o_); }

    /** `{type: "basic", username, password}`: `password_hash` is the
     *  password's bcrypt hash. */
    AdminOptions &basic_auth(const std::string &username, const std::string &password_hash) {
        return chain(sio_admin_options_set_basic_auth(o_, username.c_str(), password_hash.c_str()));
    }
    /** `auth: false`: no login. */
    AdminOptions &no_auth() { return chain(sio_admin_options_set_no_auth(o_)); }
    AdminOptions &auth_check(AuthFn fn) {
        return chain(sio_admin_options_set_auth_check(o_, &auth_tramp, detail::box(std::move(fn)),
                                                      &detail::destroy<AuthFn>));
    }
    /** "development" (the default) or "production". */
    AdminOptions &mode(const std::string &m) { return chain(sio_admin_options_set_mode(o_, m.c_str())); }
    AdminOptions &readonly(bool on) { return chain(sio_admin_options_set_readonly(o_, on)); }
    AdminOptions &namespace_name(const std::string &name) {
        return chain(sio_admin_options_set_namespace(o_, name.c_str()));
    }
    AdminOptions &server_id(const std::string &id) { return chain(sio_admin_options_set_server_id(o_, id.c_str())); }
    AdminOptions &stats_interval(std::uint32_t ms) { return chain(sio_admin_options_set_stats_interval(o_, ms)); }
    const sio_admin_options *raw() const noexcept { return o_; }

  private:
    static bool auth_tramp(void *ud, const char *json) noexcept {
        try {
            return (*static_cast<AuthFn *>(ud))(json ? json : "{}");
        } catch (...) {
            detail::report("admin auth check");
            return false;
        }
    }
    AdminOptions &chain(int status) {
        check(status);
        return *this;
    }
    sio_admin_options *o_ = nullptr;
};

/** A Socket.IO server; closed when destroyed. */
class Server {
  public:
    Server() { check(sio_server_new(nullptr, &s_)); }
    explicit Server(const ServerOptions &opts) { check(sio_server_new(opts.raw(), &s_)); }
    Server(Server &&o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;
    Server &operator=(Server &&o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~Server() { sio_server_free(s_); }

    /** Binds ("host:port"; port 0 picks one) and serves; returns the port. */
    std::uint16_t listen(const std::string &addr) {
        check(sio_server_listen(s_, addr.c_str()));
        return port();
    }
    /** Serves a connection a host HTTP server accepted (the fd is the
     *  library's from now on), `head` being what the host already read. */
    void serve_fd(int fd, std::string_view head) {
        check(sio_server_serve_fd(s_, fd, reinterpret_cast<const std::uint8_t *>(head.data()), head.size()));
    }
    std::uint16_t port() const {
        std::uint16_t p = 0;
        check(sio_server_port(s_, &p));
        return p;
    }
    Namespace of(const std::string &name = "/") const {
        sio_namespace *ns = nullptr;
        check(sio_server_of(s_, name.c_str(), &ns));
        return Namespace(ns);
    }
    /** Decides whether a namespace name belongs to a dynamic parent; runs
     *  on a runtime thread (also with an event queue), so it must be quick
     *  and thread-safe. An exception escaping it counts as no match. */
    using MatcherFn = std::function<bool(std::string_view name)>;
    /** A MatcherFn that also reads the client's `auth` (JSON, `{}` when it
     *  sent none), as the reference's `io.of((name, auth, next) => ...)`. */
    using AuthMatcherFn = std::function<bool(std::string_view name, std::string_view auth_json)>;
    /** Called with an event another server sent with server_side_emit;
     *  `ack` is empty unless the sender waits for an answer. */
    using ServerSideFn = std::function<void(std::string_view event, Args args, ServerSideAck ack)>;

    /** A parent namespace for every name matching the regular expression
     *  `pattern` (e.g. "^/room-\\d+$"), for namespaces not known in
     *  advance; throws SIO_ERR_INVALID_ARGUMENT for a bad pattern. */
    ParentNamespace of_regex(const std::string &pattern) const {
        sio_parent_namespace *p = nullptr;
        check(sio_server_of_regex(s_, pattern.c_str(), &p));
        return ParentNamespace(p);
    }
    /** A parent namespace for every name `matcher` accepts, when a regular
     *  expression cannot say which names to serve. */
    ParentNamespace of_dynamic(MatcherFn matcher) const {
        sio_parent_namespace *p = nullptr;
        check(sio_server_of_dynamic(s_, &matcher_tramp, detail::box(std::move(matcher)), &detail::destroy<MatcherFn>,
                                    &p));
        return ParentNamespace(p);
    }
    /** of_dynamic with the client's auth: a tenant's namespace is made for
     *  its own clients only. The matcher is asked only while the namespace
     *  does not exist (as in the reference); middlewares decide who joins. */
    ParentNamespace of_dynamic_with_auth(AuthMatcherFn matcher) const {
        sio_parent_namespace *p = nullptr;
        check(sio_server_of_dynamic_with_auth(s_, &auth_matcher_tramp, detail::box(std::move(matcher)),
                                              &detail::destroy<AuthMatcherFn>, &p));
        return ParentNamespace(p);
    }

    /** Handles `event` sent by the other servers of the cluster with
     *  server_side_emit (coordination between servers, not clients). */
    void on_server_side_emit(const std::string &event, ServerSideFn fn) {
        check(sio_server_on_server_side_emit(s_, event.c_str(), &server_side_tramp, detail::box(std::move(fn)),
                                             &detail::destroy<ServerSideFn>));
    }
    /** Sends an event to the other servers of the cluster (main namespace);
     *  nobody hears it on a single server. */
    void server_side_emit(const std::string &event, const Payload &p = Payload()) const {
        auto bins = p.raw_bins();
        check(sio_server_server_side_emit(s_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }
    /** Sends an event to the other servers and calls `fn` with one answer
     *  per server that answered within `timeout_ms` (0: the library's
     *  default), as the arguments (an empty array on a single server). */
    void server_side_emit_with_ack(const std::string &event, const Payload &p, ReplyFn fn,
                                   std::uint32_t timeout_ms = 0) const {
        auto bins = p.raw_bins();
        check(sio_server_server_side_emit_with_ack(s_, event.c_str(), p.json().c_str(), bins.data(), bins.size(),
                                                   timeout_ms, &detail::reply_tramp, detail::box(std::move(fn)),
                                                   &detail::destroy<ReplyFn>));
    }
    /** Every room of the main namespace across the cluster (`allRooms`),
     *  handed to `fn` as one argument: a sorted JSON array of names. */
    void all_rooms(ReplyFn fn) const {
        check(sio_server_all_rooms(s_, &detail::reply_tramp, detail::box(std::move(fn)), &detail::destroy<ReplyFn>));
    }
    /** How many servers the cluster has, this one included (1 without a
     *  cluster adapter), handed to `fn` as one numeric argument. */
    void server_count(ReplyFn fn) const {
        check(sio_server_server_count(s_, &detail::reply_tramp, detail::box(std::move(fn)),
                                      &detail::destroy<ReplyFn>));
    }

    /** Serves the Socket.IO Admin UI on this server (see
     *  sio_server_instrument); call it before serving. */
    void instrument(const AdminOptions &opts) const { check(sio_server_instrument(s_, opts.raw())); }

    /** Stops listening and disconnects everyone; `done` once they are gone. */
    void close(DoneFn done = DoneFn()) {
        if (done) {
            check(sio_server_close(s_, &detail::done_tramp, detail::box(std::move(done)), &detail::destroy<DoneFn>));
        } else {
            check(sio_server_close(s_, nullptr, nullptr, nullptr));
        }
    }
    const sio_server *raw() const noexcept { return s_; }

  private:
    static bool matcher_tramp(void *ud, const char *name) noexcept {
        try {
            return (*static_cast<MatcherFn *>(ud))(name ? name : "");
        } catch (...) {
            detail::report("namespace matcher");
            return false;
        }
    }
    static bool auth_matcher_tramp(void *ud, const char *name, const char *auth_json) noexcept {
        try {
            return (*static_cast<AuthMatcherFn *>(ud))(name ? name : "", auth_json ? auth_json : "{}");
        } catch (...) {
            detail::report("namespace matcher");
            return false;
        }
    }
    static void server_side_tramp(void *ud, const char *event, const sio_payload *args,
                                  sio_server_side_ack *a) noexcept {
        ServerSideAck ack(a);
        try {
            (*static_cast<ServerSideFn *>(ud))(event ? event : "", Args(args), std::move(ack));
        } catch (...) {
            detail::report("server-side event");
        }
    }
    sio_server *s_ = nullptr;
};

/** Client options; setters chain. */
class ClientOptions {
  public:
    ClientOptions() { check(sio_client_options_new(&o_)); }
    ClientOptions(ClientOptions &&o) noexcept : o_(std::exchange(o.o_, nullptr)) {}
    ClientOptions(const ClientOptions &) = delete;
    ClientOptions &operator=(const ClientOptions &) = delete;
    ~ClientOptions() { sio_client_options_free(o_); }

    ClientOptions &ns(const std::string &nsp) { return chain(sio_client_options_set_namespace(o_, nsp.c_str())); }
    ClientOptions &auth(const std::string &json) { return chain(sio_client_options_set_auth(o_, json.c_str())); }
    /** Asked for the CONNECT payload (a JSON object; nullopt: none) on every
     *  connection attempt, in the client's dispatch mode; an exception
     *  fails the attempt. Takes the place of auth(json). */
    using AuthFn = std::function<std::optional<std::string>()>;
    ClientOptions &auth(AuthFn fn) {
        return chain(sio_client_options_set_auth_callback(o_, &auth_tramp, detail::box(std::move(fn)),
                                                          &detail::destroy<AuthFn>));
    }
    ClientOptions &path(const std::string &p) { return chain(sio_client_options_set_path(o_, p.c_str())); }
    ClientOptions &query(const std::string &k, const std::string &v) {
        return chain(sio_client_options_add_query(o_, k.c_str(), v.c_str()));
    }
    ClientOptions &header(const std::string &k, const std::string &v) {
        return chain(sio_client_options_add_header(o_, k.c_str(), v.c_str()));
    }
    ClientOptions &transports(std::uint32_t mask) { return chain(sio_client_options_set_transports(o_, mask)); }
    /** Whether to upgrade from polling to WebSocket (default true); off,
     *  the client stays on the transport it started with. */
    ClientOptions &upgrade(bool on) { return chain(sio_client_options_set_upgrade(o_, on)); }
    ClientOptions &reconnection(bool on) { return chain(sio_client_options_set_reconnection(o_, on)); }
    ClientOptions &reconnection_attempts(std::uint32_t n) {
        return chain(sio_client_options_set_reconnection_attempts(o_, n));
    }
    ClientOptions &reconnection_delay(std::uint32_t ms, std::uint32_t max_ms) {
        return chain(sio_client_options_set_reconnection_delay(o_, ms, max_ms));
    }
    /** Jitter of the reconnection delays, 0 to 1 (default 0.5), so that
     *  many clients do not reconnect in lockstep. */
    ClientOptions &randomization_factor(double factor) {
        return chain(sio_client_options_set_randomization_factor(o_, factor));
    }
    ClientOptions &timeout(std::uint32_t ms) { return chain(sio_client_options_set_timeout(o_, ms)); }
    ClientOptions &ack_timeout(std::uint32_t ms) { return chain(sio_client_options_set_ack_timeout(o_, ms)); }
    ClientOptions &retries(std::uint32_t n) { return chain(sio_client_options_set_retries(o_, n)); }
    ClientOptions &force_new(bool on) { return chain(sio_client_options_set_force_new(o_, on)); }
    ClientOptions &msgpack(bool on) { return chain(sio_client_options_set_msgpack(o_, on)); }
    /** Also trusts the root certificates in `pem` (PEM text, one or more
     *  certificates) for https:// and wss:// URLs, e.g. a private CA; may
     *  be called several times. */
    ClientOptions &tls_root_pem(std::string_view pem) {
        return chain(sio_client_options_add_tls_root_pem(o_, reinterpret_cast<const std::uint8_t *>(pem.data()),
                                                         pem.size()));
    }
    /** Whether to trust the built-in root certificates (default true); off,
     *  only those of tls_root_pem are, to pin a private CA. */
    ClientOptions &tls_builtin_roots(bool on) { return chain(sio_client_options_set_tls_builtin_roots(o_, on)); }
    /** Presents a client certificate chain and its unencrypted private key
     *  (both PEM) to servers that ask for one (mutual TLS). */
    ClientOptions &tls_client_cert(std::string_view cert_pem, std::string_view key_pem) {
        return chain(sio_client_options_set_tls_client_cert(
            o_, reinterpret_cast<const std::uint8_t *>(cert_pem.data()), cert_pem.size(),
            reinterpret_cast<const std::uint8_t *>(key_pem.data()), key_pem.size()));
    }
    ClientOptions &runtime(const Runtime &rt) { return chain(sio_client_options_set_runtime(o_, rt.raw())); }
    ClientOptions &queue(const Queue &q) { return chain(sio_client_options_set_queue(o_, q.raw())); }
    const sio_client_options *raw() const noexcept { return o_; }

  private:
    static void auth_tramp(void *ud, sio_auth_reply *reply) noexcept {
        try {
            auto json = (*static_cast<AuthFn *>(ud))();
            sio_auth_reply_send(reply, json ? json->c_str() : nullptr);
        } catch (...) {
            sio_auth_reply_free(reply);
            detail::report("client auth");
        }
    }
    ClientOptions &chain(int status) {
        check(status);
        return *this;
    }
    sio_client_options *o_ = nullptr;
};

/** A Socket.IO client (one namespace); disconnected when destroyed. */
class Client {
  public:
    explicit Client(const std::string &url) { check(sio_client_new(url.c_str(), nullptr, &c_)); }
    Client(const std::string &url, const ClientOptions &opts) { check(sio_client_new(url.c_str(), opts.raw(), &c_)); }
    Client(Client &&o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    Client &operator=(Client &&o) noexcept {
        std::swap(c_, o.c_);
        return *this;
    }
    ~Client() { sio_client_free(c_); }

    using EventFn = std::function<void(Args args, Ack ack)>;
    using AnyFn = std::function<void(std::string_view event, Args args)>;
    using NotifyFn = std::function<void()>;
    using ReasonFn = std::function<void(std::string_view reason)>;
    using ErrorFn = std::function<void(std::string_view message, Args data)>;
    using ReconnectFn = std::function<void(int kind, std::uint32_t attempt, std::string_view error)>;
    /** A manager event (SIO_MANAGER_*) and its text (empty for a ping). */
    using ManagerFn = std::function<void(int kind, std::string_view text)>;

    void on(const std::string &event, EventFn fn) {
        check(sio_client_on(c_, event.c_str(), &event_tramp, detail::box(std::move(fn)), &detail::destroy<EventFn>));
    }
    void off(const std::string &event) { check(sio_client_off(c_, event.c_str())); }
    /** Handles the events without a handler of their own, with their ack. */
    using FallbackFn = std::function<void(std::string_view event, Args args, Ack ack)>;
    void on_fallback(FallbackFn fn) {
        check(sio_client_on_fallback(c_, &fallback_tramp, detail::box(std::move(fn)), &detail::destroy<FallbackFn>));
    }
    void on_any(AnyFn fn) {
        check(sio_client_on_any(c_, &any_tramp, detail::box(std::move(fn)), &detail::destroy<AnyFn>));
    }
    void on_connect(NotifyFn fn) {
        check(sio_client_on_connect(c_, &notify_tramp, detail::box(std::move(fn)), &detail::destroy<NotifyFn>));
    }
    void on_disconnect(ReasonFn fn) {
        check(sio_client_on_disconnect(c_, &reason_tramp, detail::box(std::move(fn)), &detail::destroy<ReasonFn>));
    }
    void on_connect_error(ErrorFn fn) {
        check(sio_client_on_connect_error(c_, &error_tramp, detail::box(std::move(fn)), &detail::destroy<ErrorFn>));
    }
    void on_reconnect(ReconnectFn fn) {
        check(sio_client_on_reconnect(c_, &reconnect_tramp, detail::box(std::move(fn)),
                                      &detail::destroy<ReconnectFn>));
    }
    /** The connection's events: open, error, upgrade, ping, close. */
    void on_manager(ManagerFn fn) {
        check(sio_client_on_manager_event(c_, &manager_tramp, detail::box(std::move(fn)),
                                          &detail::destroy<ManagerFn>));
    }

    /** Connects; `done` gets the first attempt's outcome (refused: the
     *  server's data as a one-element array). */
    void connect(ReplyFn done = ReplyFn()) {
        if (done) {
            check(sio_client_connect(c_, &detail::reply_tramp, detail::box(std::move(done)), &detail::destroy<ReplyFn>));
        } else {
            check(sio_client_connect(c_, nullptr, nullptr, nullptr));
        }
    }
    void emit(const std::string &event, const Payload &p = Payload()) {
        auto bins = p.raw_bins();
        check(sio_client_emit(c_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }
    void emit_volatile(const std::string &event, const Payload &p = Payload()) {
        auto bins = p.raw_bins();
        check(sio_client_emit_volatile(c_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }
    void emit_with_ack(const std::string &event, const Payload &p, ReplyFn fn, std::uint32_t timeout_ms = 0) {
        auto bins = p.raw_bins();
        check(sio_client_emit_with_ack(c_, event.c_str(), p.json().c_str(), bins.data(), bins.size(), timeout_ms,
                                       &detail::reply_tramp, detail::box(std::move(fn)), &detail::destroy<ReplyFn>));
    }
    void disconnect() { check(sio_client_disconnect(c_)); }
    bool connected() const noexcept { return sio_client_connected(c_); }
    std::string id() const {
        char *out = nullptr;
        check(sio_client_id(c_, &out));
        std::string s(out ? out : "");
        sio_string_free(out);
        return s;
    }
    const sio_client *raw() const noexcept { return c_; }

  private:
    static void event_tramp(void *ud, const char *, const sio_payload *args, sio_ack *a) noexcept {
        Ack ack(a);
        try {
            (*static_cast<EventFn *>(ud))(Args(args), std::move(ack));
        } catch (...) {
            detail::report("client event");
        }
    }
    static void fallback_tramp(void *ud, const char *event, const sio_payload *args, sio_ack *a) noexcept {
        Ack ack(a);
        try {
            (*static_cast<FallbackFn *>(ud))(event, Args(args), std::move(ack));
        } catch (...) {
            detail::report("client fallback");
        }
    }
    static void any_tramp(void *ud, const char *event, const sio_payload *args) noexcept {
        try {
            (*static_cast<AnyFn *>(ud))(event, Args(args));
        } catch (...) {
            detail::report("client any");
        }
    }
    static void notify_tramp(void *ud) noexcept {
        try {
            (*static_cast<NotifyFn *>(ud))();
        } catch (...) {
            detail::report("client connect");
        }
    }
    static void reason_tramp(void *ud, const char *reason) noexcept {
        try {
            (*static_cast<ReasonFn *>(ud))(reason);
        } catch (...) {
            detail::report("client disconnect");
        }
    }
    static void error_tramp(void *ud, const char *message, const sio_payload *data) noexcept {
        try {
            (*static_cast<ErrorFn *>(ud))(message, Args(data));
        } catch (...) {
            detail::report("client connect_error");
        }
    }
    static void reconnect_tramp(void *ud, int kind, std::uint32_t attempt, const char *error) noexcept {
        try {
            (*static_cast<ReconnectFn *>(ud))(kind, attempt, error ? error : "");
        } catch (...) {
            detail::report("client reconnect");
        }
    }
    static void manager_tramp(void *ud, int kind, const char *text) noexcept {
        try {
            (*static_cast<ManagerFn *>(ud))(kind, text ? text : "");
        } catch (...) {
            detail::report("client manager");
        }
    }
    sio_client *c_ = nullptr;
};

/** Emits to the clients of a cluster of servers on the classic Redis
 *  adapter from a process that is not a server (`@socket.io/redis-emitter`).
 *  Rooms and flags chain onto the object and apply to every later call;
 *  of() gives a fresh one. Every call blocks until Redis took the message
 *  and throws sio::Error when it failed (Redis away: SIO_ERR_IO, no answer
 *  in time: SIO_ERR_TIMEOUT). */
class Emitter {
  public:
    /** Connects to the Redis at `url` with the servers' adapter key
     *  (`prefix`, default "socket.io"), on the main namespace. */
    explicit Emitter(const std::string &url, const std::string &prefix = "socket.io") {
        check(sio_emitter_new(url.c_str(), prefix.c_str(), &e_));
    }
    Emitter(Emitter &&o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
    Emitter &operator=(Emitter &&o) noexcept {
        std::swap(e_, o.e_);
        return *this;
    }
    Emitter(const Emitter &) = delete;
    Emitter &operator=(const Emitter &) = delete;
    ~Emitter() { sio_emitter_free(e_); }

    /** An emitter of namespace `nsp`, without rooms or flags, on the same
     *  connection. */
    Emitter of(const std::string &nsp) const {
        sio_emitter *e = nullptr;
        check(sio_emitter_of(e_, nsp.c_str(), &e));
        return Emitter(e);
    }
    Emitter &to(const std::string &room) { return chain(sio_emitter_to(e_, room.c_str())); }
    Emitter &in(const std::string &room) { return to(room); }
    Emitter &except(const std::string &room) { return chain(sio_emitter_except(e_, room.c_str())); }
    Emitter &volatile_() { return chain(sio_emitter_volatile(e_)); }
    Emitter &compress(bool on) { return chain(sio_emitter_compress(e_, on)); }

    void emit(const std::string &event, const Payload &p = Payload()) const {
        auto bins = p.raw_bins();
        check(sio_emitter_emit(e_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }
    void sockets_join(const std::string &room) const { check(sio_emitter_sockets_join(e_, room.c_str())); }
    void sockets_leave(const std::string &room) const { check(sio_emitter_sockets_leave(e_, room.c_str())); }
    void disconnect_sockets(bool close = false) const { check(sio_emitter_disconnect_sockets(e_, close)); }
    /** Reaches the servers' server-side handlers; no answers. */
    void server_side_emit(const std::string &event, const Payload &p = Payload()) const {
        auto bins = p.raw_bins();
        check(sio_emitter_server_side_emit(e_, event.c_str(), p.json().c_str(), bins.data(), bins.size()));
    }

  private:
    explicit Emitter(sio_emitter *e) noexcept : e_(e) {}
    Emitter &chain(int status) {
        check(status);
        return *this;
    }
    sio_emitter *e_ = nullptr;
};

} // namespace sio

#endif /* SOCKETIO_HPP */
