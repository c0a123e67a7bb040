// Our Node binding (bindings/node, release build) as a benchmark server,
// with the handlers of bench/node/server.mjs:
//
//   node bench/node/server-binding.mjs 127.0.0.1:PORT
//
//   echo(payload, ack)    ack(payload)
//   broadcast(payload)    io.emit("broadcast", payload)

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Server } = require("../../bindings/node");

const [, port] = (process.argv[2] ?? "127.0.0.1:3000").split(":");
const io = new Server(Number(port));
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
    server: "socketio-rs (node binding)",
    version: require("../../bindings/node/package.json").version,
    node: process.version,
  }),
);
