// Our Node binding (bindings/node, release build) as a benchmark server,
// with the handlers of bench/node/server.mjs:
//
//   node bench/node/server-binding.mjs [--http-server] 127.0.0.1:PORT
//
//   echo(payload, ack)    ack(payload)
//   broadcast(payload)    io.emit("broadcast", payload)
//
// With --http-server the server is attached to a Node `http.Server`
// (`new Server(httpServer)`, as most socket.io apps do with Express)
// instead of listening on the port itself.

import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Server } = require("../../bindings/node");

const attached = process.argv.includes("--http-server");
const [host, port] = (process.argv[process.argv.length - 1] ?? "127.0.0.1:3000").split(":");
let io;
if (attached) {
  const httpServer = http.createServer((req, res) => {
    res.writeHead(404).end();
  });
  io = new Server(httpServer);
  await new Promise((resolve) => httpServer.listen(Number(port), host, resolve));
} else {
  io = new Server(Number(port));
}
io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("broadcast", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop();
    io.emit("broadcast", ...args);
  });
});
console.log(
  JSON.stringify({
    server: attached ? "socketio-rs (node binding, http.Server)" : "socketio-rs (node binding)",
    version: require("../../bindings/node/package.json").version,
    node: process.version,
  }),
);
