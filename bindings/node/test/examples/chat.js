// The chat of socket.io's "Get started" tutorial: every message is sent to
// everyone.
const { Server } = require("socket.io");
const { io } = require("socket.io-client");

const server = new Server(0);
const port = server.httpServer.address().port;

server.on("connection", (socket) => {
  socket.on("chat message", (msg) => {
    server.emit("chat message", msg);
  });
});

const alice = io(`http://localhost:${port}`);
const bob = io(`http://localhost:${port}`, { forceNew: true });
const received = [];

for (const [name, socket] of [["alice", alice], ["bob", bob]]) {
  socket.on("chat message", (msg) => {
    received.push(`${name} got: ${msg}`);
    if (received.length === 4) {
      console.log(received.sort().join("\n"));
      alice.disconnect();
      bob.disconnect();
      server.close();
    }
  });
}

let connected = 0;
const ready = () => {
  if (++connected === 2) {
    alice.emit("chat message", "hello from alice");
    bob.emit("chat message", "hi from bob");
  }
};
alice.on("connect", ready);
bob.on("connect", ready);
