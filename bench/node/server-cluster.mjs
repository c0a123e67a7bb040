// The npm `socket.io` server of the cluster benchmark: the classic
// `@socket.io/redis-adapter` (createAdapter) on one Redis, default options.
//
//   node bench/node/server-cluster.mjs 127.0.0.1:PORT redis://127.0.0.1:6379
//
// Uses bench/node/node_modules (installed by bench/cluster.sh from this
// folder's lockfile). Prints one JSON line with the versions once listening
// and subscribed.
//
//   broadcast(payload)    io.emit("broadcast", payload): every client of
//                         every server
//   fetch(ack)            ack((await io.fetchSockets()).length)

import http from "node:http";
import { createRequire } from "node:module";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const [host, port] = (process.argv[2] ?? "127.0.0.1:3000").split(":");
const redisUrl = process.argv[3] ?? "redis://127.0.0.1:6379";
const require = createRequire(import.meta.url);
const version = (name) => {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return null;
  }
};

const pubClient = createClient({ url: redisUrl });
const subClient = pubClient.duplicate();
pubClient.on("error", (e) => console.error("pub", e.message));
subClient.on("error", (e) => console.error("sub", e.message));
await Promise.all([pubClient.connect(), subClient.connect()]);

const httpServer = http.createServer();
const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient) });
io.on("connection", (socket) => {
  socket.on("broadcast", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop();
    io.emit("broadcast", ...args);
  });
  socket.on("fetch", async (ack) => {
    if (typeof ack !== "function") return;
    try {
      ack((await io.fetchSockets()).length);
    } catch (e) {
      ack(-1);
    }
  });
});

httpServer.listen(Number(port), host, () => {
  console.log(
    JSON.stringify({
      server: "socket.io",
      version: version("socket.io"),
      adapter: version("@socket.io/redis-adapter"),
      redis: version("redis"),
      node: process.version,
      addr: `${host}:${httpServer.address().port}`,
    }),
  );
});
