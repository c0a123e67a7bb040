// Compiled (not run) by the type test: socket.io-style code with typed
// events must type-check against index.d.ts and client.d.ts.
import { createServer } from 'node:http'
import { Server, Socket, buildProfile } from '../../index'
import { io, Socket as ClientSocket } from '../../client'
import { Adapter } from 'socket.io-adapter'

interface ServerToClientEvents {
  noArg: () => void
  basicEmit: (a: number, b: string, c: Buffer) => void
  withAck: (d: string, callback: (e: number) => void) => void
}

interface ClientToServerEvents {
  hello: () => void
  ask: (q: string, cb: (answer: string) => void) => void
}

interface InterServerEvents {
  ping: () => void
}

interface SocketData {
  name: string
  age: number
}

const io1 = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(createServer(), {
  cors: { origin: ['https://example.com'] },
  pingInterval: 10000,
})

io1.on('connection', (socket: Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>) => {
  socket.emit('noArg')
  socket.emit('basicEmit', 1, '2', Buffer.from([3]))
  socket.emit('withAck', '4', (e) => {
    const n: number = e
    void n
  })
  socket.on('ask', (q, cb) => cb(q.toUpperCase()))
  socket.data.name = 'john'
  socket.join('room')
  socket.to('room').emit('noArg')
  socket.timeout(1000).emit('withAck', 'x', (err, e) => {
    if (err) return
    const n: number = e
    void n
  })
  void socket.timeout(1000).emitWithAck('withAck', 'y').then((e: number) => e)
})
io1.use((socket, next) => (socket.handshake.auth.token ? next() : next(new Error('no'))))
io1.to('room').except('other').emit('basicEmit', 1, '2', Buffer.alloc(0))
void io1.timeout(100).emitWithAck('withAck', 'z').then((all: number[]) => all)
void io1.fetchSockets().then((sockets) => sockets.map((s) => s.data.age))
void io1.in('room').fetchSockets().then((sockets) => sockets.forEach((s) => s.emit('noArg')))
io1.on('ping', () => io1.serverSideEmit('ping'))
io1.of('/').adapter.on('join-room', (room, id) => void [room.length, id.length])
const flags: { local?: boolean } = io1.local.flags
void flags
void io1.allSockets().then((ids) => ids.size)
io1.of(/^\/dyn-\d+$/).on('connection', (s) => s.disconnect())
void io1.close()

const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = io('http://localhost:3000', {
  auth: { token: 'abc' },
  reconnectionAttempts: 3,
})
socket.on('connect', () => socket.emit('hello'))
socket.on('connect_error', (err) => console.log(err.message, err.data))
socket.on('basicEmit', (a, b, c) => console.log(a + 1, b.length, c.length))
socket.io.on('reconnect_attempt', (n) => console.log(n))
void socket.emitWithAck('ask', 'q').then((a) => a)

// Mistakes the typed events catch.
io1.on('connection', (socket) => {
  // @ts-expect-error: wrong argument type
  socket.emit('basicEmit', 'one', '2', Buffer.alloc(0))
  // @ts-expect-error: unknown event
  socket.emit('nope')
  // @ts-expect-error: SocketData has no such field
  socket.data.missing = 1
})
// @ts-expect-error: the client cannot send a server-to-client event
socket.emit('noArg')

// The engine surface: middlewares, generateId, engine events, socket.conn.
io1.engine.use((req, res, next) => {
  req.session = { user: req.headers.cookie ?? 'anonymous' }
  res.setHeader('Set-Cookie', 'sid=1')
  next()
})
io1.engine.generateId = (req) => `id-${req._query.user ?? 'x'}`
io1.engine.on('connection_error', (err) => console.log(err.code, err.message, err.context, err.req.url))
io1.engine.on('initial_headers', (headers, req) => {
  headers['x-initial'] = req.method
})
io1.engine.on('connection', (conn) => conn.on('upgrade', (t) => console.log(t.name)))
const clients: number = io1.eio.clientsCount
void clients
io1.on('connection', (socket) => {
  const name: 'polling' | 'websocket' = socket.conn.transport.name
  socket.conn.on('close', (reason) => console.log(name, reason, socket.request.session))
  socket.conn.on('packet', (p) => console.log(p.type))
  console.log(socket.request.headers.host, socket.client.conn.readyState)
  // @ts-expect-error: not an engine event
  socket.conn.on('nope', () => {})
})
// @ts-expect-error: generateId takes a request
io1.engine.generateId = 42

// The addon's build profile is one of two strings.
const profile: 'release' | 'debug' = buildProfile()
// @ts-expect-error: not a profile the addon reports
const wrong: 'release' | 'debug' = 'optimised'
void profile
void wrong

// An adapter written in JS: a class, or a factory as @socket.io/cluster-adapter's.
class LoggingAdapter extends Adapter {}
const withAdapter = new Server({ adapter: LoggingAdapter })
withAdapter.adapter((nsp: any) => new LoggingAdapter(nsp))
withAdapter.of('/').adapter.on('create-room', (room) => void room.length)
