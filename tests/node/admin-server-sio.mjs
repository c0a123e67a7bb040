// The npm `socket.io` server with `@socket.io/admin-ui`'s instrument(): the
// reference the Rust admin UI is compared with (socketio/tests/admin_ui.rs).
//
//   node tests/node/admin-server-sio.mjs [options as JSON]
//
// Listens on 127.0.0.1, port 0, prints {"port": N} as the first stdout line.
// Exits when stdin closes (the Rust test dropped the process) or after
// `lifetime` ms (default 30000).
//
// Options: hash (a bcrypt hash: basic auth with username "admin"; without
// it, auth is false), mode, readonly, serverId, namespaceName; redis (a
// redis:// URL: the server joins a cluster with `@socket.io/redis-adapter`'s
// createAdapter, requestsTimeout 2 s).
//
// Namespace "/", as the Rust side of the test serves it: `auth.user` goes
// into socket.data in a middleware; join(room), set-data(v) (data.extra = v)
// and ping(...) (answered with pong(...)).

import http from "node:http";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";

const options = process.argv[2] ? JSON.parse(process.argv[2]) : {};
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

let adapter;
if (options.redis) {
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pubClient = createClient({ url: options.redis });
  const subClient = pubClient.duplicate();
  pubClient.on("error", (e) => console.error("pub", e.message));
  subClient.on("error", (e) => console.error("sub", e.message));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  adapter = createAdapter(pubClient, subClient, { requestsTimeout: 2000 });
}

const httpServer = http.createServer();
const io = new Server(httpServer, adapter ? { adapter } : {});

io.use((socket, next) => {
  if (typeof socket.handshake.auth?.user === "string") {
    socket.data.user = socket.handshake.auth.user;
  }
  next();
});
io.on("connection", (socket) => {
  socket.on("join", (room) => socket.join(room));
  socket.on("set-data", (v) => {
    socket.data.extra = v;
  });
  socket.on("ping", (...args) => socket.emit("pong", ...args));
});

instrument(io, {
  auth: options.hash ? { type: "basic", username: "admin", password: options.hash } : false,
  mode: options.mode ?? "development",
  readonly: options.readonly ?? false,
  serverId: options.serverId,
  namespaceName: options.namespaceName ?? "/admin",
});

httpServer.listen(0, "127.0.0.1", () => out({ port: httpServer.address().port }));

process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
setTimeout(() => process.exit(0), options.lifetime ?? 30000).unref();
