// Dynamic namespaces seen from the official client: one Manager multiplexes
// /dynamic-101 and /dynamic-102 (accepted), /dynamic-abc (no parent matches)
// and /dynamic-103 (refused by the parent middleware: wrong token).
// On "broadcast" in both children it leaves /dynamic-101; on "bye" in
// /dynamic-102 it prints what it saw as JSON.
// usage: node sio4-dynamic.mjs <url>
import { Manager } from "socket.io-client";

const [url] = process.argv.slice(2);
const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 8000).unref();

const manager = new Manager(url, { transports: ["websocket"], reconnection: false });
const good = { token: "secret" };
const report = { whoami: {}, broadcast: {}, errors: {}, ids: {}, disconnects: {} };

const s101 = manager.socket("/dynamic-101", { auth: good });
const s102 = manager.socket("/dynamic-102", { auth: good });
for (const s of [s101, s102]) {
  s.on("connect", () => {
    report.ids[s.nsp] = s.id;
    s.emit("whoami", (...answer) => {
      report.whoami[s.nsp] = answer;
    });
  });
  s.on("connect_error", (e) => fail(`${s.nsp} connect_error ${e.message}`));
  s.on("broadcast", (data) => {
    report.broadcast[s.nsp] = data;
    if (Object.keys(report.broadcast).length === 2) s101.disconnect();
  });
  s.on("disconnect", (reason) => {
    report.disconnects[s.nsp] = reason;
  });
}

for (const [nsp, auth] of [
  ["/dynamic-abc", good],
  ["/dynamic-103", { token: "wrong" }],
]) {
  const s = manager.socket(nsp, { auth });
  s.on("connect", () => fail(`${nsp} connected`));
  s.on("connect_error", (e) => {
    report.errors[nsp] = { message: e.message, data: e.data ?? null };
  });
}

s102.on("bye", () => {
  const print = () => {
    if (Object.keys(report.errors).length < 2) return setTimeout(print, 20);
    console.log(JSON.stringify(report));
    manager.engine.close();
    process.exit(0);
  };
  print();
});
