// An npm `socket.io` 4.8 server on `@socket.io/postgres-adapter`, driven
// line by line by the Rust tests of a mixed Rust + Node cluster
// (socketio/tests/postgres_adapter.rs).
//
//   node tests/node/postgres-server.mjs <postgres url> [time limit ms]
//
// The adapter runs with Node's defaults but a 1 s heartbeat, so the cluster
// forms quickly; the attachments table is created as the adapter's README
// does. Listens on 127.0.0.1, port 0, then prints {event:"ready", port}.
// Every socket gets `socket.data = {name: auth.name}` and answers "join"
// (room, ack) by joining the room and acking its id.
// Commands, one JSON object per line on stdin (those of redis-server.mjs):
//   {cmd:"server_count"}                 → {event:"server_count", count}
//   {cmd:"emit", name, args, [rooms], [except], [binary]}
//                                        io.to(rooms).except(except).emit;
//                                        with binary (a byte array), a
//                                        Buffer of it is appended to args
//                                        → {event:"emitted"}
//   {cmd:"emit_ack", name, args, timeout}   io.timeout(t).emitWithAck(...)
//                                        → {event:"emit_acks", responses} or
//                                          {event:"emit_acks_error", message}
//   {cmd:"fetch", [rooms]}               → {event:"fetched", sockets:[{id, rooms, data, handshake}]}
//   {cmd:"sse", name, args}              io.serverSideEmit → {event:"sse_sent"}
//   {cmd:"sse_ack", name, args}          io.serverSideEmitWithAck
//                                        → {event:"sse_acks", responses} or
//                                          {event:"sse_acks_error", message}
//   {cmd:"sockets_join", [rooms], [except], room}     io.to(rooms).socketsJoin(room)
//   {cmd:"sockets_leave", [rooms], [except], room}    io.to(rooms).socketsLeave(room)
//   {cmd:"disconnect_sockets", [rooms], [except], [close]}
//                                        each → {event:"done"}
//   {cmd:"exit"}
// Unsolicited: {event:"sse_recv", name, args} for the server-side events
// "rust-note" and "rust-ping" (the latter acked with "node-pong:<arg>");
// binary arguments are shown as {bin: [bytes]}.
// A failure or the overall time limit prints {event:"fail", message} and exits 1.

import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";

const [pgUrl, limitMs] = process.argv.slice(2);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const fail = (message) => {
  out({ event: "fail", message: String(message) });
  process.exit(1);
};
setTimeout(() => fail("time limit"), Number(limitMs ?? 30000)).unref();

// One connection LISTENs, one queries: messages go out in order (but an
// attachment takes two queries, so others may pass it).
const pool = new pg.Pool({ connectionString: pgUrl, max: 2 });
pool.on("error", (e) => console.error("pool", e.message));
await pool.query(`
  CREATE TABLE IF NOT EXISTS socket_io_attachments (
      id          bigserial UNIQUE,
      created_at  timestamptz DEFAULT NOW(),
      payload     bytea
  );
`);

const shown = (v) =>
  v instanceof Uint8Array ? { bin: [...v] } : Array.isArray(v) ? v.map(shown) : v;

const http = createServer();
const io = new Server(http, {
  adapter: createAdapter(pool, {
    heartbeatInterval: 1000,
    errorHandler: (e) => console.error("adapter", e?.message ?? e),
  }),
});

io.on("connection", (socket) => {
  if (socket.recovered) {
    out({ event: "recovered", id: socket.id, name: socket.data?.name ?? null });
  } else {
    socket.data = { name: socket.handshake.auth?.name ?? null };
  }
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(socket.id);
  });
});
for (const name of ["rust-note", "rust-ping"]) {
  io.on(name, (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    out({ event: "sse_recv", name, args: shown(args) });
    if (cb) cb(`node-pong:${args[0]}`);
  });
}

await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
out({ event: "ready", port: http.address().port });

const target = (cmd) => {
  let op = io;
  if (cmd.rooms?.length) op = op.to(cmd.rooms);
  if (cmd.except?.length) op = op.except(cmd.except);
  return op;
};

async function run(cmd) {
  switch (cmd.cmd) {
    case "server_count":
      out({ event: "server_count", count: await io.of("/").adapter.serverCount() });
      break;
    case "emit": {
      const args = [...(cmd.args ?? [])];
      if (cmd.binary) args.push(Buffer.from(cmd.binary));
      target(cmd).emit(cmd.name, ...args);
      out({ event: "emitted" });
      break;
    }
    case "emit_ack":
      try {
        const responses = await target(cmd)
          .timeout(cmd.timeout ?? 2000)
          .emitWithAck(cmd.name, ...(cmd.args ?? []));
        out({ event: "emit_acks", responses });
      } catch (e) {
        out({ event: "emit_acks_error", message: e.message });
      }
      break;
    case "fetch": {
      const sockets = await target(cmd).fetchSockets();
      out({
        event: "fetched",
        sockets: sockets.map((s) => ({
          id: s.id,
          rooms: [...s.rooms],
          data: s.data,
          handshake: s.handshake,
        })),
      });
      break;
    }
    case "sse":
      io.serverSideEmit(cmd.name, ...(cmd.args ?? []));
      out({ event: "sse_sent" });
      break;
    case "sse_ack":
      try {
        const responses = await io.serverSideEmitWithAck(cmd.name, ...(cmd.args ?? []));
        out({ event: "sse_acks", responses });
      } catch (e) {
        out({ event: "sse_acks_error", message: e.message });
      }
      break;
    case "sockets_join":
      target(cmd).socketsJoin(cmd.room);
      out({ event: "done" });
      break;
    case "sockets_leave":
      target(cmd).socketsLeave(cmd.room);
      out({ event: "done" });
      break;
    case "disconnect_sockets":
      target(cmd).disconnectSockets(cmd.close ?? false);
      out({ event: "done" });
      break;
    case "exit":
      io.close();
      await pool.end().catch(() => {});
      process.exit(0);
      break;
    default:
      fail(`unknown command ${JSON.stringify(cmd)}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    fail(`bad command ${line}: ${e.message}`);
  }
  run(cmd).catch(fail);
});
rl.on("close", () => process.exit(0));
