// A real npm `socket.io-client` 4.8 driven line by line by the Rust tests.
//
//   node tests/node/sio-client.mjs <base url> [options as JSON]
//
// The Rust test writes one JSON command per line on stdin; this script prints
// one JSON object per line ({"event": ...}) for every command result and every
// thing its sockets hear, so the test can assert on what the real client saw.
// Binary values travel as {"$bin": "<hex>"} in both directions.
//
// Options: transports (default ["polling", "websocket"]), timeout (overall
// limit in ms, default 20000).
//
// Commands (fields in brackets are optional):
//   {cmd:"connect", client, [manager], [nsp], [auth], [opts], [answer]}
//       opens socket `client` on namespace `nsp` (default "/") of Manager
//       `manager` (default: a Manager of its own, i.e. its own Engine.IO
//       connection); `opts` are extra Manager options (transports, query,
//       extraHeaders...). `answer` is how it answers server acks: "echo"
//       (default: the same arguments back), "name" (the client name), "none"
//       (never), {with: [args]}, or {per: {<event>: <policy>}, otherwise:
//       <policy>} to choose by event name.
//       → {event:"connect", client, id, engine, transport} or
//         {event:"connect_error", client, message, data, dataUndefined}
//   {cmd:"emit", client, name, [args], [ack: "callback" | "promise"], [timeout], [req]}
//       emits; with `ack` waits for the answer:
//       → {event:"ack", client, req, args} or {event:"ack_error", client, req, message}
//   {cmd:"roundtrip", client, [name], [set]}  emitWithAck(name ?? "echo", v)
//       for each value of TRICKY (or SURROGATES with set "surrogates") below,
//       expecting v back unchanged:
//       → {event:"roundtrip", client, label, equal, got|error} each, then
//         {event:"roundtrip_done", client, count}
//   {cmd:"disconnect", client}            socket.disconnect()
//   {cmd:"close_engine", manager}         closes the Engine.IO connection
//   {cmd:"wait_upgrade", manager}         → {event:"upgraded", manager, transport}
//   {cmd:"state", client}                 → {event:"state", client, connected, active, transport}
//   {cmd:"exit"}                          exits 0
// Unsolicited lines:
//   {event:"recv", client, name, args, ack}  every event a socket receives
//   {event:"disconnect", client, reason}
//   {event:"manager_close", manager, reason}
// A malformed command, an unknown client or the overall timeout prints
// {event:"fail", message} and exits 1.

import { Manager } from "socket.io-client";
import { createInterface } from "node:readline";
import { inspect, isDeepStrictEqual } from "node:util";

const [url, optionsJson] = process.argv.slice(2);
if (!url) {
  console.error("usage: sio-client.mjs <url> [options-json]");
  process.exit(2);
}
const options = optionsJson ? JSON.parse(optionsJson) : {};

function out(obj) {
  // JSON.stringify escapes lone surrogates as \udXXX, which strict JSON
  // parsers (serde_json) refuse: print U+FFFD instead.
  const line = JSON.stringify(tag(obj)).replace(/\\ud[89a-f][0-9a-f]{2}/g, "\\ufffd");
  process.stdout.write(line + "\n");
}

function fail(message) {
  out({ event: "fail", message });
  process.exit(1);
}

setTimeout(() => fail("overall timeout"), options.timeout ?? 20000).unref();
process.on("uncaughtException", (e) => fail(`uncaught: ${e?.stack ?? e}`));
process.on("unhandledRejection", (e) => fail(`unhandled rejection: ${e?.stack ?? e}`));

function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Binary → {$bin: hex}, functions → {$fn: true}, recursively. */
function tag(v) {
  if (isBinary(v)) return { $bin: toBuffer(v).toString("hex") };
  if (typeof v === "function") return { $fn: true };
  if (Array.isArray(v)) return v.map(tag);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tag(x)]));
  }
  return v;
}

/** {$bin: hex} → Buffer, recursively. */
function untag(v) {
  if (Array.isArray(v)) return v.map(untag);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string" && Object.keys(v).length === 1) {
      return Buffer.from(v.$bin, "hex");
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, untag(x)]));
  }
  return v;
}

const managers = new Map();
const sockets = new Map();

function manager(name, opts) {
  let m = managers.get(name);
  if (!m) {
    m = new Manager(url, {
      transports: options.transports ?? ["polling", "websocket"],
      reconnection: false,
      ...untag(opts ?? {}),
    });
    m.on("close", (reason) => out({ event: "manager_close", manager: name, reason }));
    managers.set(name, m);
  }
  return m;
}

function socketOf(name) {
  const s = sockets.get(name);
  if (!s) fail(`unknown client ${name}`);
  return s;
}

function answerFor(policy, client, name, args) {
  if (policy && typeof policy === "object" && policy.per) {
    return answerFor(policy.per[name] ?? policy.otherwise ?? "echo", client, name, args);
  }
  if (policy === "none") return null;
  if (policy === "name") return [client];
  if (policy && typeof policy === "object" && Array.isArray(policy.with)) return untag(policy.with);
  return args;
}

function connect(c) {
  const client = c.client;
  const managerName = c.manager ?? client;
  const m = manager(managerName, c.opts);
  const s = m.socket(c.nsp ?? "/", c.auth === undefined ? {} : { auth: untag(c.auth) });
  sockets.set(client, s);
  s.onAny((name, ...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    out({ event: "recv", client, name, args, ack: cb !== null });
    if (cb) {
      const reply = answerFor(c.answer, client, name, args);
      if (reply) cb(...reply);
    }
  });
  s.on("connect", () => {
    out({
      event: "connect",
      client,
      id: s.id,
      engine: m.engine?.id,
      transport: m.engine?.transport?.name,
    });
  });
  s.on("connect_error", (err) => {
    out({
      event: "connect_error",
      client,
      message: err.message,
      data: err.data ?? null,
      dataUndefined: err.data === undefined,
    });
  });
  s.on("disconnect", (reason, details) => {
    out({ event: "disconnect", client, reason, details: details?.description?.message ?? null });
  });
}

async function emit(c) {
  const s = socketOf(c.client);
  const args = untag(c.args ?? []);
  const req = c.req ?? null;
  if (c.ack === "callback") {
    s.emit(c.name, ...args, (...reply) => out({ event: "ack", client: c.client, req, args: reply }));
  } else if (c.ack === "promise") {
    try {
      const emitter = c.timeout === undefined ? s : s.timeout(c.timeout);
      // emitWithAck resolves with the first argument of the answer only.
      const reply = await emitter.emitWithAck(c.name, ...args);
      out({ event: "ack", client: c.client, req, args: [reply] });
    } catch (e) {
      out({ event: "ack_error", client: c.client, req, message: e.message });
    }
  } else {
    s.emit(c.name, ...args);
  }
}

/** Values whose JSON encoding is easy to get subtly wrong. */
const TRICKY = [
  ["unicode", "héllo wörld 🌍 日本"],
  ["line separators", "a\u2028b\u2029c"],
  ["control characters", "\u0000\u0001\u001e\u001f\t\n\r"],
  ["quotes and slashes", "quote \" backslash \\ slash / </script>"],
  ["empty string", ""],
  ["integers", [0, 1, -1, 9007199254740991, -9007199254740991, 2 ** 53, 2 ** 64]],
  ["doubles", [1.5, 0.1 + 0.2, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, -2.5e-300]],
  ["big string", "x".repeat(100000)],
  ["many numbers", Array.from({ length: 1000 }, (_, i) => i * 1.25)],
  ["key order", { b: 1, a: 2, "": 3, "key with spaces": [true, false, null] }],
  ["empties", [[], {}, [[]], { a: {} }]],
  ["deep nesting", JSON.parse("[".repeat(100) + "]".repeat(100))],
];

/** Strings JavaScript allows and JSON.stringify escapes (`\ud800`); a
 * truncated emoji is one. */
const SURROGATES = [
  ["lone high surrogate", "a\ud800b"],
  ["lone low surrogate", "\udc00"],
  ["emoji cut in half", "🌍".slice(0, 1)],
  ["lone surrogate as a key", { "\ud83d": 1 }],
];

async function roundtrip(c) {
  const s = socketOf(c.client);
  const values = c.set === "surrogates" ? SURROGATES : TRICKY;
  for (const [label, value] of values) {
    if (!s.connected) {
      out({ event: "roundtrip", client: c.client, label, equal: false, error: "disconnected" });
      continue;
    }
    let got;
    try {
      got = await s.timeout(3000).emitWithAck(c.name ?? "echo", value);
    } catch (e) {
      out({ event: "roundtrip", client: c.client, label, equal: false, error: e.message });
      continue;
    }
    const equal = isDeepStrictEqual(got, value) && JSON.stringify(got) === JSON.stringify(value);
    out({
      event: "roundtrip",
      client: c.client,
      label,
      equal,
      got: equal ? null : inspect(got, { depth: 3, maxStringLength: 80 }),
    });
  }
  out({ event: "roundtrip_done", client: c.client, count: values.length });
}

async function run(c) {
  switch (c.cmd) {
    case "connect":
      return connect(c);
    case "emit":
      return emit(c);
    case "roundtrip":
      return roundtrip(c);
    case "disconnect":
      socketOf(c.client).disconnect();
      return;
    case "close_engine":
      managers.get(c.manager)?.engine?.close();
      return;
    case "wait_upgrade": {
      const engine = managers.get(c.manager)?.engine;
      if (!engine) fail(`no engine for manager ${c.manager}`);
      if (engine.transport.name !== "websocket") {
        await new Promise((resolve) => engine.once("upgrade", resolve));
      }
      out({ event: "upgraded", manager: c.manager, transport: engine.transport.name });
      return;
    }
    case "state": {
      const s = socketOf(c.client);
      out({
        event: "state",
        client: c.client,
        connected: s.connected,
        active: s.active,
        transport: s.io.engine?.transport?.name ?? null,
      });
      return;
    }
    case "exit":
      process.exit(0);
      return;
    default:
      fail(`unknown command ${JSON.stringify(c)}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  let c;
  try {
    c = JSON.parse(line);
  } catch (e) {
    fail(`bad command line ${line}: ${e.message}`);
  }
  run(c).catch((e) => fail(`command ${line} failed: ${e?.stack ?? e}`));
});
rl.on("close", () => process.exit(0));
out({ event: "ready" });
