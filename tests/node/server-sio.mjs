// The npm `socket.io` server as a peer for the Rust Socket.IO client tests.
//
//   node tests/node/server-sio.mjs [options as JSON]
//
// Listens on 127.0.0.1, port 0, prints {"port": N} as the first stdout line,
// then one JSON object per line for what happens ({"event": ...}). Exits when
// stdin closes (the Rust test dropped the process) or after `lifetime` ms.
//
// Options: pingInterval (300), pingTimeout (200), transports, recovery (turn
// connectionStateRecovery on), msgpack (use socket.io-msgpack-parser).
//
// Namespaces "/" and "/admin" accept everyone, unless auth.refuse is set;
// "/refuse" always refuses with {message: "refused", data: {code: 42}}.
// Events every connected socket handles:
//   echo(...args)           emits "echo" with the same args
//   ack(...args, cb)        cb(...args)
//   noack(...args, cb)      never answers
//   flaky(cb)               answers every second call only
//   seq(n)                  records n; get-seqs(cb) answers the list
//   ask(...args)            server emits "question"(...args) with an ack, then
//                           emits "answer" with the client's reply or "error"
//   binary()                emits "binary" with a buffer and a nested one
//   disconnect-me()         server-side disconnect of the socket
//   close-transport(missed) closes the Engine.IO connection, then broadcasts
//                           "missed" with each value of `missed` to the namespace
//   restart(ms)             closes the HTTP server and every connection, and
//                           listens again on the same port after `ms`
//   info(cb)                cb({id, conn, recovered, auth, transport})

import http from "node:http";
import { Server } from "socket.io";

const options = process.argv[2] ? JSON.parse(process.argv[2]) : {};
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const serverOptions = {
  pingInterval: options.pingInterval ?? 300,
  pingTimeout: options.pingTimeout ?? 200,
  transports: options.transports ?? ["polling", "websocket"],
};
if (options.recovery) {
  serverOptions.connectionStateRecovery = {
    maxDisconnectionDuration: 60000,
    skipMiddlewares: true,
  };
}
if (options.msgpack) {
  serverOptions.parser = (await import("socket.io-msgpack-parser")).default;
}

const httpServer = http.createServer();
const io = new Server(httpServer, serverOptions);
const seqs = {};
let flakyCalls = 0;
let port = 0;

function setup(nsp) {
  nsp.use((socket, next) => {
    if (socket.handshake.auth && socket.handshake.auth.refuse) {
      const err = new Error("refused by auth");
      err.data = { auth: true };
      next(err);
    } else {
      next();
    }
  });
  nsp.on("connection", (socket) => {
    out({
      event: "connection",
      nsp: nsp.name,
      id: socket.id,
      conn: socket.conn.id,
      auth: socket.handshake.auth,
      recovered: socket.recovered,
      transport: socket.conn.transport.name,
    });
    socket.emit("auth", socket.handshake.auth);
    socket.on("disconnect", (reason) =>
      out({ event: "disconnect", nsp: nsp.name, id: socket.id, reason }),
    );
    socket.on("echo", (...args) => socket.emit("echo", ...args));
    socket.on("ack", (...args) => {
      const cb = args.pop();
      cb(...args);
    });
    socket.on("noack", () => {});
    socket.on("flaky", (cb) => {
      flakyCalls++;
      out({ event: "flaky", call: flakyCalls });
      if (flakyCalls % 2 === 0) cb("ok", flakyCalls);
    });
    socket.on("seq", (n) => {
      (seqs[nsp.name] ??= []).push(n);
    });
    socket.on("get-seqs", (cb) => cb(seqs[nsp.name] ?? []));
    socket.on("ask", (...args) => {
      socket.timeout(2000).emit("question", ...args, (err, ...reply) => {
        socket.emit("answer", err ? "error" : reply);
      });
    });
    socket.on("binary", () =>
      socket.emit("binary", Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]) }),
    );
    socket.on("disconnect-me", () => socket.disconnect());
    socket.on("close-transport", (missed) => {
      socket.conn.close();
      for (const m of missed ?? []) nsp.emit("missed", m);
    });
    socket.on("restart", (ms) => {
      httpServer.close();
      httpServer.closeAllConnections();
      io.engine.close();
      setTimeout(() => {
        httpServer.listen(port, "127.0.0.1", () => out({ event: "restarted" }));
      }, ms);
    });
    socket.on("info", (cb) =>
      cb({
        id: socket.id,
        conn: socket.conn.id,
        recovered: socket.recovered,
        auth: socket.handshake.auth,
        transport: socket.conn.transport.name,
      }),
    );
  });
}

setup(io.of("/"));
setup(io.of("/admin"));
io.of("/refuse").use((socket, next) => {
  const err = new Error("refused");
  err.data = { code: 42 };
  next(err);
});

httpServer.listen(0, "127.0.0.1", () => {
  port = httpServer.address().port;
  out({ port });
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), options.lifetime ?? 30000).unref();
