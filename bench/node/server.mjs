// The npm `socket.io` server of the benchmarks, default options.
//
//   node bench/node/server.mjs 127.0.0.1:PORT
//
// Uses bench/node/node_modules (socket.io 4.8 with bufferutil, installed by
// bench/run.sh from this folder's lockfile); without it, falls back to the
// copy the interop tests install in tests/node (no bufferutil there).
// Prints one JSON line with the versions once listening.
//
//   echo(payload, ack)    ack(payload)
//   broadcast(payload)    io.emit("broadcast", payload)

import http from "node:http";
import { createRequire } from "node:module";

const [host, port] = (process.argv[2] ?? "127.0.0.1:3000").split(":");

async function load() {
  const here = createRequire(import.meta.url);
  try {
    return { require: here, socketio: await import("socket.io"), from: "bench/node" };
  } catch {
    const tests = createRequire(new URL("../../tests/node/package.json", import.meta.url));
    return { require: tests, socketio: tests("socket.io"), from: "tests/node" };
  }
}

const { require, socketio, from } = await load();
const version = (name) => {
  try {
    const main = require.resolve(name);
    const dir = main.slice(0, main.lastIndexOf(`node_modules/${name}/`) + `node_modules/${name}/`.length);
    return require(dir + "package.json").version;
  } catch {
    return null;
  }
};

const httpServer = http.createServer();
const io = new socketio.Server(httpServer);
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

httpServer.listen(Number(port), host, () => {
  console.log(
    JSON.stringify({
      server: "socket.io",
      version: version("socket.io"),
      ws: version("ws"),
      bufferutil: version("bufferutil"),
      node: process.version,
      from,
    }),
  );
});
