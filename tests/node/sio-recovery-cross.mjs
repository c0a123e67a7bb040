// Connection state recovery across two servers of one cluster, seen from
// the official client: it connects to server A, reports {event:"connected",
// id}, and on the first "tick" it switches its Manager to server B and kills
// the transport; the test emits while it is away, and the client, back on B,
// reports {event:"back", received, recovered, sameId} half a second after
// reconnecting (the missed packets come right after CONNECT).
// usage: node sio-recovery-cross.mjs <url A> <url B> <reconnectDelayMs>
import { io } from "socket.io-client";

const [urlA, urlB, delayArg] = process.argv.slice(2);
const delay = Number(delayArg ?? 1000);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
setTimeout(() => {
  out({ event: "fail", message: "time limit" });
  process.exit(1);
}, 15000).unref();

const socket = io(urlA, {
  transports: ["websocket"],
  reconnectionDelay: delay,
  reconnectionDelayMax: delay,
  randomizationFactor: 0,
  auth: { name: "roamer" },
});
const received = [];
let firstId = null;
let connects = 0;
socket.on("tick", (n) => {
  received.push(n);
  if (connects === 1 && received.length === 1) {
    // The next connection attempt goes to B.
    socket.io.uri = urlB;
    socket.io.engine.close();
  }
});
socket.on("connect", () => {
  connects += 1;
  if (connects === 1) {
    firstId = socket.id;
    out({ event: "connected", id: socket.id });
  } else {
    setTimeout(() => {
      out({ event: "back", received, recovered: socket.recovered, sameId: socket.id === firstId });
      process.exit(0);
    }, 500);
  }
});
