// The npm `engine.io` server as a peer for the Rust Engine.IO client tests.
//
//   node tests/node/server-eio.mjs [options as JSON]
//
// Listens on 127.0.0.1, port 0, and prints {"port": N} as the first stdout
// line, then one JSON object per line for what happens ({"event": ...}).
// Exits when stdin closes (the Rust test dropped the process) or after
// `lifetime` ms (default 30000).
//
// Options: pingInterval, pingTimeout, maxHttpBufferSize, transports,
// allowUpgrades, path (default "/engine.io"), mute (answer the handshake and
// then nothing at all: no pings, GETs held forever).
//
// Every text message is echoed, binary as binary, except commands:
//   "cmd:close"     sends "bye", then closes the session
//   "cmd:binary"    sends the binary message 01 02 03
//   "cmd:info"      sends JSON {transport, query, headers} of the session
//   "cmd:many:<n>"  sends n messages "m0".."m<n-1>"

import http from "node:http";
import { attach } from "engine.io";

const options = process.argv[2] ? JSON.parse(process.argv[2]) : {};
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const server = http.createServer();

if (options.mute) {
  // A server that does the handshake and then goes silent.
  server.on("request", (req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (!url.searchParams.get("sid") && req.method === "GET") {
      res.writeHead(200, { "Content-Type": "text/plain; charset=UTF-8" });
      res.end(
        '0{"sid":"mute","upgrades":[],"pingInterval":' +
          (options.pingInterval ?? 200) +
          ',"pingTimeout":' +
          (options.pingTimeout ?? 100) +
          ',"maxPayload":1000000}',
      );
    } else if (req.method === "POST") {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("ok");
    }
    // Other GETs are held forever.
  });
} else {
  const engine = attach(server, {
    path: options.path ?? "/engine.io",
    pingInterval: options.pingInterval ?? 300,
    pingTimeout: options.pingTimeout ?? 200,
    maxHttpBufferSize: options.maxHttpBufferSize ?? 1e6,
    transports: options.transports ?? ["polling", "websocket"],
    allowUpgrades: options.allowUpgrades ?? true,
  });
  engine.on("connection", (socket) => {
    out({ event: "connection", sid: socket.id, transport: socket.transport.name });
    socket.on("upgrade", (t) => out({ event: "upgrade", sid: socket.id, transport: t.name }));
    socket.on("close", (reason) => out({ event: "close", sid: socket.id, reason }));
    socket.on("message", (data) => {
      if (typeof data !== "string") {
        socket.send(data);
        return;
      }
      if (data === "cmd:close") {
        socket.send("bye");
        socket.close();
      } else if (data === "cmd:binary") {
        socket.send(Buffer.from([1, 2, 3]));
      } else if (data === "cmd:info") {
        socket.send(
          JSON.stringify({
            transport: socket.transport.name,
            query: Object.fromEntries(new URL(socket.request.url, "http://x").searchParams),
            headers: socket.request.headers,
          }),
        );
      } else if (data.startsWith("cmd:many:")) {
        const n = Number(data.slice(9));
        for (let i = 0; i < n; i++) socket.send("m" + i);
      } else {
        socket.send(data);
      }
    });
  });
  engine.on("connection_error", (err) =>
    out({ event: "connection_error", code: err.code, message: err.message }),
  );
}

server.listen(0, "127.0.0.1", () => out({ port: server.address().port }));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), options.lifetime ?? 30000).unref();
