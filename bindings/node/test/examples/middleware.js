// Middlewares, as in socket.io's "Middlewares" page: authentication by
// token, an error with data, and socket.data set for the handlers.
const { Server } = require("socket.io");
const { io } = require("socket.io-client");

const server = new Server(0);
const port = server.httpServer.address().port;

const users = { "token-1": "alice" };

server.use((socket, next) => {
  const token = socket.handshake.auth.token;
  if (!users[token]) {
    const err = new Error("not authorized");
    err.data = { content: "Please retry later" };
    return next(err);
  }
  socket.data.username = users[token];
  next();
});

server.on("connection", (socket) => {
  socket.emit("welcome", `hello ${socket.data.username}`);
});

const intruder = io(`http://localhost:${port}`, { forceNew: true, auth: { token: "bad" } });
intruder.on("connect_error", (err) => {
  console.log(`intruder: ${err.message}`);
  console.log(`intruder: ${err.data.content}`);

  const user = io(`http://localhost:${port}`, { forceNew: true, auth: { token: "token-1" } });
  user.on("welcome", (msg) => {
    console.log(`user: ${msg}`);
    user.disconnect();
    server.close();
  });
});
