// A terminal client for the chat server (examples/c/chat_server.c, or the
// Rust demo socketio/examples/chat.rs), in C++17 on the RAII wrapper
// include/socketio.hpp.
//
//   ./chat_client_cpp [url] [nickname]     (default http://127.0.0.1:3000)
//
// Type a line to send it; "/nick NAME" and "/join ROOM" do what they say;
// end of input quits once the server has echoed the last line and answered
// the nickname changes (at most 10 s later).
//
// Unlike the C client, the callbacks run on the library's threads: they
// share state with the main thread, which reads standard input, through one
// mutex and a condition variable.
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>

#include "socketio.hpp"

namespace {

struct Chat {
    std::mutex m;
    std::condition_variable changed;
    bool connected = false;
    bool failed = false;
    int pending = 0;         // nickname changes not answered yet
    std::string last_sent;   // the last line sent, until it comes back
    bool echoed = true;

    void print(const std::string &line) {
        std::lock_guard<std::mutex> lock(m);
        std::cout << line << std::endl;
    }
};

// `"key":"value"` of a flat JSON object, without unescaping.
std::string field(std::string_view json, std::string_view key) {
    std::string pat = "\"" + std::string(key) + "\":\"";
    auto at = json.find(pat);
    if (at == std::string_view::npos) return "";
    std::string out;
    for (auto i = at + pat.size(); i < json.size() && json[i] != '"'; i++) {
        if (json[i] == '\\' && i + 1 < json.size()) out += json[i++];
        out += json[i];
    }
    return out;
}

// ["text"] -> text (no escapes expected in the server's notices).
std::string first_string(std::string_view json) {
    if (json.size() < 4) return "";
    return std::string(json.substr(2, json.size() - 4));
}

} // namespace

int main(int argc, char **argv) {
    std::string url = argc > 1 ? argv[1] : "http://127.0.0.1:3000";
    Chat chat;
    try {
        sio::ClientOptions opts;
        opts.reconnection_attempts(5);
        sio::Client client(url, opts);

        client.on("welcome", [&](sio::Args args, sio::Ack) {
            chat.print("* you are " + field(args.json(), "nickname") + " in #" + field(args.json(), "room"));
        });
        client.on("chat message", [&](sio::Args args, sio::Ack) {
            std::string nick = field(args.json(), "nickname"), text = field(args.json(), "text");
            chat.print(nick + ": " + text);
            std::lock_guard<std::mutex> lock(chat.m);
            if (text == chat.last_sent) chat.echoed = true;
            chat.changed.notify_all();
        });
        client.on("notice", [&](sio::Args args, sio::Ack) { chat.print("* " + first_string(args.json())); });
        client.on("online", [&](sio::Args args, sio::Ack) {
            auto j = args.json();
            chat.print("* online: " + std::string(j.size() > 2 ? j.substr(1, j.size() - 2) : j));
        });
        client.on_connect([&] {
            std::lock_guard<std::mutex> lock(chat.m);
            chat.connected = true;
            chat.changed.notify_all();
        });
        client.on_disconnect([&](std::string_view reason) { chat.print("* disconnected: " + std::string(reason)); });
        client.on_reconnect([&](int kind, std::uint32_t attempt, std::string_view) {
            if (kind == SIO_RECONNECT_ATTEMPT) chat.print("* reconnecting (attempt " + std::to_string(attempt) + ")");
            if (kind == SIO_RECONNECT_FAILED) {
                std::lock_guard<std::mutex> lock(chat.m);
                chat.failed = true;
                chat.changed.notify_all();
            }
        });

        auto set_nick = [&](const std::string &name) {
            {
                std::lock_guard<std::mutex> lock(chat.m);
                chat.pending++;
            }
            client.emit_with_ack(
                "set nickname", "[" + sio::quote(name) + "]",
                [&](int status, std::string_view error, sio::Args args) {
                    chat.print(status == SIO_OK ? "* you are now " + first_string(args.json())
                                                : "* nickname not set: " + std::string(error));
                    std::lock_guard<std::mutex> lock(chat.m);
                    chat.pending--;
                    chat.changed.notify_all();
                },
                5000);
        };

        client.connect([&](int status, std::string_view error, sio::Args) {
            if (status != SIO_OK) {
                std::cerr << "cannot connect: " << error << std::endl;
                std::lock_guard<std::mutex> lock(chat.m);
                chat.failed = true;
                chat.changed.notify_all();
            }
        });
        {
            std::unique_lock<std::mutex> lock(chat.m);
            chat.changed.wait_for(lock, std::chrono::seconds(10), [&] { return chat.connected || chat.failed; });
            if (!chat.connected) return 1;
        }
        if (argc > 2) set_nick(argv[2]);

        std::string line;
        while (std::getline(std::cin, line)) {
            if (line.rfind("/nick ", 0) == 0) {
                set_nick(line.substr(6));
            } else if (line.rfind("/join ", 0) == 0) {
                client.emit("join", "[" + sio::quote(line.substr(6)) + "]");
            } else if (!line.empty()) {
                {
                    std::lock_guard<std::mutex> lock(chat.m);
                    chat.last_sent = line;
                    chat.echoed = false;
                }
                client.emit("chat message", "[" + sio::quote(line) + "]");
            }
        }
        // End of input: the answers still owed, then leave.
        std::unique_lock<std::mutex> lock(chat.m);
        chat.changed.wait_for(lock, std::chrono::seconds(10),
                              [&] { return chat.failed || (chat.pending == 0 && chat.echoed); });
        return chat.pending == 0 && chat.echoed ? 0 : 1;
    } catch (const sio::Error &e) {
        std::cerr << "error: " << e.what() << std::endl;
        return 1;
    }
}
