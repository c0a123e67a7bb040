// Socket.IO v2 clients (npm `socket.io-client` 2.5, Engine.IO protocol 3)
// and a v4 client, at the same time, against a server with `allowEIO3`.
//
//   node tests/node/sio2-client.mjs <base url>
//
// The server (socketio/tests/interop_v2.rs) must:
//   - on `/`: emit `welcome` [socket.id, <bytes 1 2 3>] on connection; answer
//     `echo` acks with the arguments; on `join` (room, ack) join the room,
//     emit `in-room` [room] to it, then ack;
//   - on `/admin`: emit `auth` [handshake.auth] on connection;
//   - on `/private`: refuse every socket with the message "not allowed".
// Prints one JSON line per scenario passed ({event:"ok", name}), then
// {event:"done"} and exits 0; any failure prints {event:"fail", message}
// and exits 1.

import io2 from "socket.io-client-v2";
import { io as io4 } from "socket.io-client";
import { isDeepStrictEqual, inspect } from "node:util";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: sio2-client.mjs <url>");
  process.exit(2);
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const fail = (message) => {
  out({ event: "fail", message });
  process.exit(1);
};
setTimeout(() => fail("overall timeout"), 25000).unref();

/** The arguments of the next `event` on `emitter`, within 5 s. */
function next(emitter, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5000);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

function check(what, got, want) {
  if (!isDeepStrictEqual(got, want)) {
    throw new Error(`${what}: got ${inspect(got)}, want ${inspect(want)}`);
  }
}

function ack(socket, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no ack within 5 s")), 5000);
    socket.emit(...args, (...answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

const BYTES = Buffer.from([0, 1, 255]);

/** Events, acks (text and binary), a room and binary from the server. */
async function exercise(label, socket, ids) {
  const text = await ack(socket, "echo", "héllo 😀", { a: [1, null] });
  check(`${label}: text ack`, text, ["héllo 😀", { a: [1, null] }]);
  const bin = await ack(socket, "echo", { bytes: BYTES, n: 1 });
  check(`${label}: binary ack`, bin, [{ bytes: BYTES, n: 1 }]);
  const inRoom = next(socket, "in-room");
  await ack(socket, "join", "room-" + ids);
  check(`${label}: room broadcast`, await inRoom, ["room-" + ids]);
}

async function v2(name, opts, upgrade) {
  const socket = io2(url, { forceNew: true, reconnection: false, ...opts });
  const welcome = next(socket, "welcome");
  await next(socket, "connect");
  const engine = socket.io.engine;
  check(`${name}: id is the engine's`, socket.id, engine.id);
  const [id, bytes] = await welcome;
  check(`${name}: server socket id`, id, socket.id);
  check(`${name}: binary from the server`, bytes, Buffer.from([1, 2, 3]));
  await exercise(name, socket, name);
  if (upgrade && engine.transport.name !== "websocket") {
    await next(engine, "upgrade");
  }
  check(`${name}: transport`, engine.transport.name, upgrade ? "websocket" : opts.transports[0]);
  // Again over the final transport.
  await exercise(`${name} (after)`, socket, name + "-after");
  socket.close();
  out({ event: "ok", name });
}

async function v4() {
  const socket = io4(url, { forceNew: true, reconnection: false });
  const welcome = next(socket, "welcome");
  await next(socket, "connect");
  const [id] = await welcome;
  check("v4: server socket id", id, socket.id);
  await exercise("v4", socket, "v4");
  socket.close();
  out({ event: "ok", name: "v4" });
}

async function namespaceQuery() {
  const socket = io2(url + "/admin", { forceNew: true, reconnection: false, query: { token: "abc" } });
  const [auth] = await next(socket, "auth");
  check("namespace query as auth", auth, { token: "abc" });
  socket.close();
  out({ event: "ok", name: "namespace-query" });
}

async function refusal() {
  const socket = io2(url + "/private", { forceNew: true, reconnection: false });
  const [error] = await next(socket, "error");
  check("middleware refusal", error, "not allowed");
  socket.close();
  out({ event: "ok", name: "refusal" });
}

try {
  await Promise.all([
    v2("polling", { transports: ["polling"] }, false),
    v2("polling-b64", { transports: ["polling"], forceBase64: true }, false),
    v2("websocket", { transports: ["websocket"] }, false),
    v2("upgrade", { transports: ["polling", "websocket"] }, true),
    v4(),
    namespaceQuery(),
    refusal(),
  ]);
  out({ event: "done" });
  process.exit(0);
} catch (e) {
  fail(e && e.stack ? e.stack : String(e));
}
