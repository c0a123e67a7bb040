// The msgpack parser (npm socket.io-msgpack-parser) against the Rust server.
// usage: node sio4-msgpack.mjs <url> <mode>
//   echo:    a msgpack client sends nested binary with an ack, gets it echoed
//            back (event and ack), answers a server-initiated ack, and prints
//            what it saw as JSON (buffers as {"$bin": hex}).
//   default: a client with the default parser tries to connect for a short
//            while and prints whether it did.
import { io } from "socket.io-client";
import parser from "socket.io-msgpack-parser";

const [url, mode] = process.argv.slice(2);
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 8000).unref();

// Buffers, ArrayBuffers and views become {"$bin": hex} so JSON can show them.
const norm = (v) => {
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  }
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  }
  return v;
};
// What kind of binary each leaf is: "Buffer", "ArrayBuffer", ...
const kinds = (v) => {
  if (Buffer.isBuffer(v)) return "Buffer";
  if (v instanceof ArrayBuffer) return "ArrayBuffer";
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) return v.map(kinds);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, kinds(x)]));
  }
  return typeof v;
};

if (mode === "default") {
  const socket = io(url, { transports: ["websocket"], reconnection: false, timeout: 1500 });
  const seen = { connected: false, connectErrors: [], disconnects: [] };
  socket.on("connect", () => {
    seen.connected = true;
  });
  socket.on("connect_error", (e) => seen.connectErrors.push(e.message));
  socket.on("disconnect", (reason) => seen.disconnects.push(reason));
  setTimeout(() => {
    console.log(JSON.stringify(seen));
    socket.close();
    process.exit(0);
  }, 1500);
} else {
  const socket = io(url, { transports: ["websocket"], reconnection: false, parser });
  const bin300 = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
  const payload = {
    text: "héllo ✓",
    int: 42,
    neg: -7,
    float: 1.5,
    big: 2 ** 40,
    yes: true,
    nil: null,
    bin: Buffer.from([0, 1, 2, 255]),
    nested: {
      list: [1, Buffer.from([0xde, 0xad, 0xbe, 0xef]), { deep: Buffer.from("deep") }],
      empty: Buffer.alloc(0),
    },
    ab: new Uint8Array([7, 8, 9]).buffer,
  };
  const report = { textMessages: 0, sent: norm([payload, bin300]) };
  const finish = () => {
    if (report.echoed && report.acked && report.done) {
      report.sameEcho = JSON.stringify(report.echoed) === JSON.stringify(report.sent);
      report.sameAck = JSON.stringify(report.acked) === JSON.stringify(report.sent);
      console.log(JSON.stringify(report));
      socket.off("disconnect");
      socket.close();
      process.exit(0);
    }
  };
  socket.io.on("open", () => {
    // Every Socket.IO packet of the msgpack parser is a binary message.
    socket.io.engine.on("packet", (p) => {
      if (p.type === "message" && typeof p.data === "string") report.textMessages += 1;
    });
  });
  socket.on("echoed", (...args) => {
    report.echoed = norm(args);
    report.echoedKinds = kinds(args);
    finish();
  });
  socket.on("question", (q, cb) => {
    report.question = norm(q);
    report.questionKinds = kinds(q);
    cb("answer", Buffer.from([4, 5, 6]), { got: q.n, bytes: q.bin, list: [q.bin, null, 3.25] });
  });
  socket.on("done", (ok) => {
    report.done = ok;
    finish();
  });
  socket.on("connect", () => {
    report.id = socket.id;
    socket.emit("echo", payload, bin300, (...args) => {
      report.acked = norm(args);
      report.ackedKinds = kinds(args);
      finish();
    });
  });
  socket.on("connect_error", (e) => fail(`connect_error ${e.message}`));
  socket.on("disconnect", (reason) => fail(`disconnect ${reason}`));
}
