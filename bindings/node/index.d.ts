// Types of socketio-rs: socket.io's server API (with its typed-events
// generics) on the socketio-rs Rust core.

import type { Server as HttpServer, IncomingHttpHeaders } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import { io, Manager, Socket as ClientSocket } from './client'

/** A map from event names to listener signatures. */
export interface EventsMap {
  [event: string]: any
}

/** The default: any event, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void
}

export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol)
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>

type Last<T extends any[]> = T extends [...infer _H, infer L] ? L : never
type AllButLast<T extends any[]> = T extends [...infer H, infer _L] ? H : any[]
/** The first argument of an ack callback that is not the timeout error. */
type FirstArg<T> = T extends (...args: infer P) => any ? ([P[0]] extends [Error | null] ? P[1] : P[0]) : any
/** What `emitWithAck` resolves with: the first argument of the ack callback. */
type AckResult<Map extends EventsMap, Ev extends EventNames<Map>> = FirstArg<Last<EventParams<Map, Ev>>>
type WithTimeoutAck<F> = F extends (...args: infer A) => infer R
  ? Last<A> extends (...a: infer AckArgs) => any
    ? (...args: [...AllButLast<A>, (err: Error | null, ...a: AckArgs) => void]) => R
    : F
  : F
type DecorateAcknowledgements<Map extends EventsMap> = {
  [K in keyof Map]: WithTimeoutAck<Map[K]>
}

/** Listener methods typed by an events map (socket.io's StrictEventEmitter). */
export declare class TypedEmitter<ListenEvents extends EventsMap, ReservedEvents extends EventsMap> {
  on<Ev extends EventNames<ListenEvents & ReservedEvents>>(ev: Ev, listener: (ListenEvents & ReservedEvents)[Ev]): this
  once<Ev extends EventNames<ListenEvents & ReservedEvents>>(ev: Ev, listener: (ListenEvents & ReservedEvents)[Ev]): this
  addListener<Ev extends EventNames<ListenEvents & ReservedEvents>>(
    ev: Ev,
    listener: (ListenEvents & ReservedEvents)[Ev],
  ): this
  prependListener<Ev extends EventNames<ListenEvents & ReservedEvents>>(
    ev: Ev,
    listener: (ListenEvents & ReservedEvents)[Ev],
  ): this
  off<Ev extends EventNames<ListenEvents & ReservedEvents>>(ev: Ev, listener?: (ListenEvents & ReservedEvents)[Ev]): this
  removeListener<Ev extends EventNames<ListenEvents & ReservedEvents>>(
    ev: Ev,
    listener?: (ListenEvents & ReservedEvents)[Ev],
  ): this
  removeAllListeners(ev?: EventNames<ListenEvents & ReservedEvents>): this
  listeners<Ev extends EventNames<ListenEvents & ReservedEvents>>(ev: Ev): Array<(ListenEvents & ReservedEvents)[Ev]>
  listenerCount(ev: EventNames<ListenEvents & ReservedEvents>): number
}

/** Events reserved by socket.io on a server-side socket. */
export interface SocketReservedEventsMap {
  disconnect: (reason: DisconnectReason, description?: unknown) => void
  disconnecting: (reason: DisconnectReason, description?: unknown) => void
  error: (err: Error) => void
}

export type DisconnectReason =
  | 'transport error'
  | 'transport close'
  | 'forced close'
  | 'ping timeout'
  | 'parse error'
  | 'server shutting down'
  | 'forced server close'
  | 'client namespace disconnect'
  | 'server namespace disconnect'

/** An origin as the `cors` package takes it. */
export type StaticOrigin = boolean | string | RegExp | Array<boolean | string | RegExp>

/**
 * The `cors` package's options, with its semantics: a request from an
 * origin they do not allow gets no `Access-Control-Allow-Origin`.
 * `preflightContinue` and an `optionsSuccessStatus` other than 204 throw.
 */
export interface CorsOptions {
  origin?:
    | StaticOrigin
    | ((origin: string | undefined, callback: (err: Error | null, origin?: StaticOrigin) => void) => void)
  methods?: string | string[]
  allowedHeaders?: string | string[]
  headers?: string | string[]
  exposedHeaders?: string | string[]
  credentials?: boolean
  maxAge?: number
  optionsSuccessStatus?: 204
}

/**
 * engine.io's `cookie` option: the `cookie` package's attributes (the
 * defaults: name `io`, path `/`, HttpOnly, SameSite=Lax). `expires`,
 * `partitioned`, `priority` and `encode` throw.
 */
export interface CookieOptions {
  name?: string
  /** `false` leaves the attribute out. */
  path?: string | false
  httpOnly?: boolean
  sameSite?: boolean | 'lax' | 'strict' | 'none'
  secure?: boolean
  /** Seconds. */
  maxAge?: number
  domain?: string
}

/** What `allowRequest` gets in place of the `http.IncomingMessage`. */
export type AllowRequestRequest = EngineRequest

/**
 * socket.io's server options (socket.io's and engine.io's). Each one is
 * either honoured or refused with a `TypeError` naming it when the server
 * is made; a misspelt name throws too. The literal types are the only
 * values accepted of the options socketio-rs does not implement.
 */
export interface ServerOptions {
  /** Default `/socket.io`. */
  path?: string
  /** Default 25000 ms. */
  pingInterval?: number
  /** Default 20000 ms. */
  pingTimeout?: number
  /** Default 10000 ms. */
  upgradeTimeout?: number
  /** Default 1e6 bytes. */
  maxHttpBufferSize?: number
  /** Default `['polling', 'websocket']`; `webtransport` throws. */
  transports?: Array<'polling' | 'websocket'>
  /** Default true. */
  allowUpgrades?: boolean
  /**
   * Polling responses compressed from `threshold` bytes (default 1024;
   * `true` or no threshold: every response); false disables. zlib settings
   * throw.
   */
  httpCompression?: boolean | { threshold?: number }
  cors?: CorsOptions | boolean
  /** Time a connection has to join a namespace (default 45000 ms). */
  connectTimeout?: number
  /** Default wait for acknowledgements when no timeout is given (default 5000 ms). */
  ackTimeout?: number
  connectionStateRecovery?:
    | boolean
    | {
        maxDisconnectionDuration?: number
        skipMiddlewares?: boolean
      }
  cleanupEmptyChildNamespaces?: boolean
  /**
   * The in-memory adapter (left out, or socket.io-adapter's `Adapter` /
   * `SessionAwareAdapter` as socket.io would pick it) or a Redis cluster:
   * `createRedisAdapter(url, opts)` or a factory of `@socket.io/redis-adapter`
   * (`createAdapter(pub, sub, opts)`, `createShardedAdapter(...)`), run on the
   * native adapter. Any other adapter class or factory (extending
   * socket.io-adapter's `Adapter`, `@socket.io/cluster-adapter`,
   * `@socket.io/redis-streams-adapter`...) runs in JS, made with
   * `new adapter(nsp)` for every namespace, as socket.io runs it; with
   * `connectionStateRecovery` it throws.
   */
  adapter?: ReturnType<typeof createRedisAdapter> | (abstract new (nsp: any) => any) | ((nsp: any) => any)
  /**
   * `require('socket.io-parser')` (the default) or
   * `require('socket.io-msgpack-parser')`; any other parser throws.
   */
  parser?: any
  /** Asked about every handshake, as engine.io's (`fn(err, success)`, now or later). */
  allowRequest?: (req: AllowRequestRequest, fn: (err: string | null | undefined, success: boolean) => void) => void
  /** The `io` cookie of the handshake (polling handshakes); default none. */
  cookie?: boolean | CookieOptions
  /** Default true: both accepted (the server answers with and without the slash). */
  addTrailingSlash?: boolean
  /** End the upgrades outside the path that nobody answers (default true; attached servers). */
  destroyUpgrade?: boolean
  /** Default 1000 ms. */
  destroyUpgradeTimeout?: number
  /**
   * Serves the browser client under the path (default true), from the
   * installed `socket.io` or `socket.io-client` package.
   */
  serveClient?: boolean
  /**
   * Accepts Socket.IO v2 clients (Engine.IO protocol 3), as socket.io
   * (default false).
   */
  allowEIO3?: boolean
  /** WebSocket compression is not implemented: only `false`. */
  perMessageDeflate?: boolean | { threshold?: number }
  /** Only `require('ws').Server`, the default: the WebSocket server is the Rust core's. */
  wsEngine?: any
  /** Not implemented: only a falsy value. */
  initialPacket?: null | false | 0 | ''
}

/**
 * The request an engine hook gets (and `socket.request`): an
 * `http.IncomingMessage` stand-in. Middlewares may add their own fields
 * (`session`...).
 */
export interface EngineRequest {
  method: string
  /** Path and query. */
  url: string
  originalUrl: string
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  httpVersion: string
  httpVersionMajor: number
  httpVersionMinor: number
  /** engine.io's parsed query. */
  _query: Record<string, string>
  socket: { remoteAddress: string | undefined; encrypted: boolean }
  connection: { remoteAddress: string | undefined; encrypted: boolean }
  on(event: string, listener: (...args: any[]) => void): this
  [key: string]: any
}

/**
 * The `res` of an `io.engine.use()` middleware: an `http.ServerResponse`
 * stand-in. Its headers go out with the engine's answer; ending it answers
 * the request.
 */
export interface EngineResponse {
  req: EngineRequest
  statusCode: number
  statusMessage: string
  readonly headersSent: boolean
  readonly writableEnded: boolean
  setHeader(name: string, value: string | number | readonly string[]): this
  appendHeader(name: string, value: string | readonly string[]): this
  getHeader(name: string): string | number | string[] | undefined
  getHeaders(): Record<string, string | number | string[] | undefined>
  getHeaderNames(): string[]
  hasHeader(name: string): boolean
  removeHeader(name: string): void
  writeHead(status: number, message?: string | Record<string, any> | any[], headers?: Record<string, any> | any[]): this
  write(chunk: string | Buffer, encoding?: BufferEncoding): boolean
  end(chunk?: string | Buffer | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this
  on(event: string, listener: (...args: any[]) => void): this
  once(event: string, listener: (...args: any[]) => void): this
  [key: string]: any
}

/** A transport as a session shows it. */
export interface EngineTransport {
  readonly name: 'polling' | 'websocket'
  writable: boolean
}

/** A packet a session received from its client. */
export interface EnginePacket {
  type: 'open' | 'close' | 'ping' | 'pong' | 'message' | 'upgrade' | 'noop'
  data?: string | Buffer
}

/** Events of an Engine.IO session. */
export interface EngineSocketEventsMap {
  upgrading: (transport: EngineTransport) => void
  upgrade: (transport: EngineTransport) => void
  packet: (packet: EnginePacket) => void
  data: (data: string | Buffer) => void
  message: (data: string | Buffer) => void
  heartbeat: () => void
  close: (reason: string, description?: unknown) => void
}

/** An Engine.IO session: engine.io's `Socket` (`socket.conn`). */
export declare class EngineSocket extends TypedEmitter<{}, EngineSocketEventsMap> {
  readonly id: string
  readonly server: Engine
  readonly protocol: 4
  /** The handshake's request (a connection listener may delete it). */
  request: EngineRequest
  readonly remoteAddress: string | undefined
  upgrading: boolean
  /** The transport carrying the session now. */
  get transport(): EngineTransport
  get readyState(): 'open' | 'closing' | 'closed'
  get upgraded(): boolean
  getAvailableUpgrades(): string[]
  /** Sends a raw Engine.IO message. */
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: object | (() => void), callback?: () => void): this
  write(data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: object | (() => void), callback?: () => void): this
  /** Closes the session ("forced close"). */
  close(): this
}

/** engine.io's `connection_error` event. */
export interface EngineConnectionError {
  req: EngineRequest
  /** engine.io's `Server.errors`: 0 unknown transport ... 5 unsupported protocol version. */
  code: number
  message: string
  context: Record<string, any>
}

/** Events of `io.engine`. */
export interface EngineEventsMap {
  connection: (socket: EngineSocket) => void
  connection_error: (err: EngineConnectionError) => void
  headers: (headers: Record<string, string | number | string[] | undefined>, req: EngineRequest) => void
  initial_headers: (headers: Record<string, string | number | string[] | undefined>, req: EngineRequest) => void
}

/** An `io.engine.use()` middleware, as Express / Connect middlewares. */
export type EngineMiddleware = (req: EngineRequest, res: EngineResponse, next: (err?: any) => void) => void

/** `io.engine`: engine.io's `Server`. */
export declare class Engine extends TypedEmitter<{}, EngineEventsMap> {
  static readonly errors: {
    UNKNOWN_TRANSPORT: 0
    UNKNOWN_SID: 1
    BAD_HANDSHAKE_METHOD: 2
    BAD_REQUEST: 3
    FORBIDDEN: 4
    UNSUPPORTED_PROTOCOL_VERSION: 5
  }
  static readonly errorMessages: Record<number, string>
  /** Open sessions. */
  get clientsCount(): number
  /** The open sessions, by id. */
  get clients(): Record<string, EngineSocket>
  /** The options, with engine.io's defaults. */
  get opts(): Record<string, any>
  readonly middlewares: EngineMiddleware[]
  /**
   * The id of a new session: 1 to 128 of `A-Z a-z 0-9 - _ . ~`, unused;
   * anything else refuses the handshake (`ID_GENERATION_ERROR`).
   */
  generateId: (req: EngineRequest) => string | Promise<string>
  /** Adds a middleware, run on every request of the engine. */
  use(fn: EngineMiddleware): this
  /** Closes every session. */
  close(): this
}

/** socket.io's `Client`, as a socket shows it. */
export interface Client {
  readonly conn: EngineSocket
  readonly id: string
  readonly server: Server<any, any, any, any>
  readonly request: EngineRequest
}

/** The handshake of a socket. */
export interface Handshake {
  headers: Record<string, string>
  time: string
  address: string
  xdomain: boolean
  secure: boolean
  issued: number
  url: string
  query: Record<string, string>
  auth: Record<string, any>
}

export type Room = string
export type SocketId = string

/** The flags of a broadcast operator, as socket.io shows them. */
export interface BroadcastFlags {
  local?: boolean
  volatile?: boolean
  compress?: boolean
  timeout?: number
}

/**
 * A socket `fetchSockets()` found: one of this server, or one of another
 * server of the cluster described (socket.io's `RemoteSocket`).
 */
export declare class RemoteSocket<EmitEvents extends EventsMap, SocketData> {
  readonly id: SocketId
  readonly handshake: Handshake
  readonly rooms: Set<Room>
  readonly data: SocketData
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData>
  join(room: Room | Room[]): void
  leave(room: Room): void
  disconnect(close?: boolean): this
}

/** A broadcast being built: socket.io's `BroadcastOperator`. */
export declare class BroadcastOperator<EmitEvents extends EventsMap, SocketData> {
  /** The target rooms. */
  get rooms(): Set<Room>
  /** The excluded rooms. */
  get exceptRooms(): Set<Room>
  /** The flags set so far. */
  get flags(): BroadcastFlags
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>
  get volatile(): BroadcastOperator<EmitEvents, SocketData>
  get local(): BroadcastOperator<EmitEvents, SocketData>
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData>
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<Array<AckResult<EmitEvents, Ev>>>
  fetchSockets(): Promise<Array<RemoteSocket<EmitEvents, SocketData>>>
  /** The ids of the selected sockets (deprecated in socket.io, kept). */
  allSockets(): Promise<Set<SocketId>>
  socketsJoin(room: Room | Room[]): void
  socketsLeave(room: Room | Room[]): void
  disconnectSockets(close?: boolean): void
}

/** A client's connection to a namespace: socket.io's server-side `Socket`. */
export declare class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<ListenEvents, SocketReservedEventsMap> {
  readonly id: SocketId
  readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  readonly handshake: Handshake
  data: SocketData
  get connected(): boolean
  get disconnected(): boolean
  get recovered(): boolean
  get rooms(): Set<Room>
  /** The Engine.IO session carrying the socket. */
  get conn(): EngineSocket
  /** The handshake's request. */
  get request(): EngineRequest
  get client(): Client
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<AckResult<EmitEvents, Ev>>
  send(...args: any[]): this
  write(...args: any[]): this
  timeout(timeout: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData>
  get volatile(): this
  compress(compress: boolean): this
  get broadcast(): BroadcastOperator<EmitEvents, SocketData>
  get local(): BroadcastOperator<EmitEvents, SocketData>
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  join(rooms: Room | Room[]): void
  leave(room: Room): void
  /** Leaves every room, its own included. */
  leaveAll(): void
  disconnect(close?: boolean): this
  use(fn: (event: [string, ...any[]], next: (err?: Error) => void) => void): this
  onAny(listener: (event: string, ...args: any[]) => void): this
  prependAny(listener: (event: string, ...args: any[]) => void): this
  offAny(listener?: (event: string, ...args: any[]) => void): this
  listenersAny(): Array<(event: string, ...args: any[]) => void>
  onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this
  prependAnyOutgoing(listener: (event: string, ...args: any[]) => void): this
  offAnyOutgoing(listener?: (event: string, ...args: any[]) => void): this
  listenersAnyOutgoing(): Array<(event: string, ...args: any[]) => void>
}

export interface NamespaceReservedEventsMap<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> {
  connect: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void
  connection: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void
  /** A namespace was created (on the server: `io.on('new_namespace', ...)`). */
  new_namespace: (namespace: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void
}

/** The room events of a namespace's adapter. */
export interface AdapterEventsMap {
  'create-room': (room: Room) => void
  'delete-room': (room: Room) => void
  'join-room': (room: Room, id: SocketId) => void
  'leave-room': (room: Room, id: SocketId) => void
}

/** A namespace's adapter as socket.io shows it. */
export declare class NamespaceAdapter extends TypedEmitter<{}, AdapterEventsMap> {
  /** This server's rooms and their members. */
  get rooms(): Map<Room, Set<SocketId>>
  /** This server's sockets and their rooms. */
  get sids(): Map<SocketId, Set<Room>>
}

/** A namespace: socket.io's `Namespace`. */
export declare class Namespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<ServerSideEvents, NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> {
  readonly name: string
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  readonly sockets: Map<SocketId, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>
  /**
   * The adapter: rooms and their members (built on each access) and room
   * events; with an adapter written in JS, the one made for this namespace
   * (which has the same rooms, sids and events).
   */
  get adapter(): NamespaceAdapter
  use(
    fn: (
      socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
      next: (err?: Error & { data?: any }) => void,
    ) => void,
  ): this
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  get local(): BroadcastOperator<EmitEvents, SocketData>
  get volatile(): BroadcastOperator<EmitEvents, SocketData>
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData>
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<Array<AckResult<EmitEvents, Ev>>>
  send(...args: any[]): this
  write(...args: any[]): this
  fetchSockets(): Promise<Array<RemoteSocket<EmitEvents, SocketData>>>
  /** The ids of the namespace's sockets (deprecated in socket.io, kept). */
  allSockets(): Promise<Set<SocketId>>
  socketsJoin(room: Room | Room[]): void
  socketsLeave(room: Room | Room[]): void
  disconnectSockets(close?: boolean): void
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: EventParams<ServerSideEvents, Ev>): boolean
  serverSideEmitWithAck<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<any[]>
}

/** A dynamic namespace (`io.of(regex | fn)`): socket.io's `ParentNamespace`. */
export declare class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  /** Its child namespaces. */
  get children(): Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>
}

export type ParentNspNameMatchFn = (
  name: string,
  auth: { [key: string]: any },
  fn: (err: Error | null, success: boolean) => void,
) => void

/** socket.io's `Server`. */
/** Options of {@link createRedisAdapter}. */
export interface RedisAdapterOptions {
  /** The channel prefix (the Node adapters' `key`, default `socket.io`). */
  key?: string
  /** Which Node adapter's protocol to speak (default `classic`). */
  flavour?: 'classic' | 'sharded' | 'streams'
  /** How long cluster requests wait for the other servers, in ms. */
  requestsTimeout?: number
  /** classic: answers go to the requester's own channel (default false). */
  publishOnSpecificResponseChannel?: boolean
  /** sharded: which rooms get a channel of their own (default `dynamic`). */
  subscriptionMode?: 'static' | 'dynamic' | 'dynamic-private'
}

/** The `adapter` server option joining a Redis cluster shared with Node servers on the official adapters. */
export declare function createRedisAdapter(url: string, opts?: RedisAdapterOptions): (...args: any[]) => never

export declare class Server<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<ServerSideEvents, NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> {
  /** The main namespace. */
  readonly sockets: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  /** engine.io's server. */
  readonly engine: Engine
  /** `io.engine`. */
  get eio(): Engine
  /** The attached `http.Server`, or a stand-in with `address()` when listening on a port. */
  httpServer: HttpServer | HttpsServer | { address(): { port: number; address: string; family: string } } | null
  constructor(opts?: ServerOptions)
  constructor(srv?: HttpServer | HttpsServer | number, opts?: ServerOptions)
  listen(srv: HttpServer | HttpsServer | number, opts?: ServerOptions): this
  attach(srv: HttpServer | HttpsServer | number, opts?: ServerOptions): this
  path(): string
  /** The adapter given (undefined: in memory). */
  adapter(): ServerOptions['adapter']
  /**
   * Sets the adapter (as the `adapter` option takes it): a native one until
   * the first client connects (afterwards it throws), one written in JS at
   * any time.
   */
  adapter(v: NonNullable<ServerOptions['adapter']>): this
  /** The ids of the main namespace's sockets (deprecated in socket.io, kept). */
  allSockets(): Promise<Set<SocketId>>
  of(
    nsp: string | RegExp | ParentNspNameMatchFn,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
  use(
    fn: (
      socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
      next: (err?: Error & { data?: any }) => void,
    ) => void,
  ): this
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>
  get local(): BroadcastOperator<EmitEvents, SocketData>
  get volatile(): BroadcastOperator<EmitEvents, SocketData>
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData>
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<Array<AckResult<EmitEvents, Ev>>>
  send(...args: any[]): this
  write(...args: any[]): this
  fetchSockets(): Promise<Array<RemoteSocket<EmitEvents, SocketData>>>
  socketsJoin(room: Room | Room[]): void
  socketsLeave(room: Room | Room[]): void
  disconnectSockets(close?: boolean): void
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: EventParams<ServerSideEvents, Ev>): boolean
  serverSideEmitWithAck<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<any[]>
  /** Disconnects every client, stops serving and closes the attached `http.Server`. */
  close(fn?: (err?: Error) => void): Promise<void>
}

/**
 * The cargo profile the native addon was compiled with: `'release'` (what
 * `npm install` builds) or `'debug'` (`npm run build:debug`, several times
 * slower).
 */
export declare function buildProfile(): 'release' | 'debug'

/** `require('socketio-rs')(srv, opts)`: a new server. */
declare function createServer(srv?: HttpServer | HttpsServer | number | ServerOptions, opts?: ServerOptions): Server
declare namespace createServer {
  export { Server, Namespace, ParentNamespace, Socket, BroadcastOperator, Engine, EngineSocket, io, Manager, ClientSocket, buildProfile }
  export const connect: typeof io
}
export default createServer
export { io, Manager, ClientSocket }
export declare const connect: typeof io
