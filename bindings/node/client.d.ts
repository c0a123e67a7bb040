// Types of socketio-rs/client: socket.io-client's API (with its
// typed-events generics) on the socketio-rs Rust core.


export interface EventsMap {
  [event: string]: any
}

export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void
}

type EventNames<Map extends EventsMap> = keyof Map & (string | symbol)
type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>
type Last<T extends any[]> = T extends [...infer _H, infer L] ? L : never
type AllButLast<T extends any[]> = T extends [...infer H, infer _L] ? H : any[]
/** The first argument of an ack callback that is not the timeout error. */
type FirstArg<T> = T extends (...args: infer P) => any ? ([P[0]] extends [Error | null] ? P[1] : P[0]) : any

export type DisconnectReason =
  | 'io server disconnect'
  | 'io client disconnect'
  | 'ping timeout'
  | 'transport close'
  | 'transport error'
  | 'parse error'
  | 'forced close'

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
  /** Without a listener: every listener of `ev`; without arguments: every listener. */
  off<Ev extends EventNames<ListenEvents & ReservedEvents>>(ev?: Ev, listener?: (ListenEvents & ReservedEvents)[Ev]): this
  removeListener<Ev extends EventNames<ListenEvents & ReservedEvents>>(
    ev?: Ev,
    listener?: (ListenEvents & ReservedEvents)[Ev],
  ): this
  removeAllListeners(ev?: EventNames<ListenEvents & ReservedEvents>): this
  listeners<Ev extends EventNames<ListenEvents & ReservedEvents>>(ev: Ev): Array<(ListenEvents & ReservedEvents)[Ev]>
  listenerCount(ev: EventNames<ListenEvents & ReservedEvents>): number
}

export interface SocketReservedEvents {
  connect: () => void
  connect_error: (err: Error & { data?: any }) => void
  disconnect: (reason: DisconnectReason, description?: unknown) => void
}

/**
 * socket.io-client's options (socket.io-client's and engine.io-client's).
 * Each one is either honoured or refused with a `TypeError` naming it when
 * the manager or socket is made; a misspelt name throws too. The literal
 * types are the only values accepted of the options socketio-rs does not
 * implement.
 */
export interface ManagerOptions {
  path?: string
  query?: string | Record<string, string | number | boolean>
  extraHeaders?: Record<string, string>
  /** Names, or engine.io-client's transport classes (`WebSocket`...). */
  transports?: Array<'polling' | 'websocket' | (new (...args: any[]) => any)>
  upgrade?: boolean
  rememberUpgrade?: boolean
  tryAllTransports?: boolean
  timestampRequests?: boolean
  /** Default `t`. */
  timestampParam?: string
  addTrailingSlash?: boolean
  reconnection?: boolean
  reconnectionAttempts?: number
  reconnectionDelay?: number
  reconnectionDelayMax?: number
  randomizationFactor?: number
  /** Milliseconds; `false`: no limit. */
  timeout?: number | false
  autoConnect?: boolean
  forceNew?: boolean
  multiplex?: boolean
  /**
   * `require('socket.io-parser')` (the default) or
   * `require('socket.io-msgpack-parser')`; any other parser throws.
   */
  parser?: any
  /** Trusted root certificates (PEM), in place of the built-in ones. */
  ca?: string | Buffer | Array<string | Buffer>
  /** The client does not keep Node running. */
  autoUnref?: boolean
  /** With no URL: where to connect (a URL's parts take their place otherwise). */
  host?: string
  hostname?: string
  secure?: boolean
  port?: string | number
  /** No effect outside a browser. */
  closeOnBeforeunload?: boolean
  /** The timers are always the native ones. */
  useNativeTimers?: boolean
  /** Only `false`: the connections are the Rust core's. */
  agent?: false
  /** `false`: the server's certificate is not checked (self-signed certificates in development). */
  rejectUnauthorized?: boolean
  /**
   * A client certificate chain (PEM) for servers that ask for one (mutual
   * TLS); needs `key`.
   */
  cert?: string | Buffer | Array<string | Buffer>
  /** The private key of `cert` (PEM, unencrypted: `passphrase` throws). */
  key?: string | Buffer | Array<string | Buffer | { pem: string | Buffer }>
  /** Only `false`: no cookie jar. */
  withCredentials?: false
  /** Only `false`. */
  forceBase64?: false
  /** Only `false`: WebSocket compression is not implemented. */
  perMessageDeflate?: false
  /** Only `0` (no limit). */
  requestTimeout?: 0
  /** Only `{}`. */
  transportOptions?: Record<string, never>
  /** Only `[]`: no WebSocket sub-protocols. */
  protocols?: []
}

export interface SocketOptions {
  /**
   * The CONNECT payload: read, or the function called (its callback may
   * answer later, within the manager's `timeout`), for every CONNECT,
   * automatic reconnections included.
   */
  auth?: Record<string, any> | ((cb: (data: Record<string, any>) => void) => void)
  ackTimeout?: number
  retries?: number
}

export interface ManagerReservedEvents {
  open: () => void
  error: (err: Error) => void
  ping: () => void
  close: (reason: string) => void
  reconnect_attempt: (attempt: number) => void
  reconnect: (attempt: number) => void
  reconnect_error: (err: Error) => void
  reconnect_failed: () => void
}

/** An Engine.IO packet, as engine.io-client reports it. */
export interface EnginePacket {
  type: 'open' | 'close' | 'ping' | 'pong' | 'message' | 'upgrade' | 'noop'
  data?: string | Buffer | ArrayBuffer
  /** On `packetCreate` only. */
  options?: { compress: boolean }
}

/** An Engine.IO transport: its name only. */
export interface EngineTransport {
  readonly name: 'polling' | 'websocket'
  readonly query: Record<string, string>
}

export interface EngineReservedEvents {
  open: () => void
  handshake: (data: { sid: string; upgrades: string[]; pingInterval: number; pingTimeout: number; maxPayload: number }) => void
  /** Every packet from the server (listening makes the core report them all). */
  packet: (packet: EnginePacket) => void
  /** Every packet written: pongs and messages. */
  packetCreate: (packet: EnginePacket) => void
  heartbeat: () => void
  data: (data: string | Buffer | ArrayBuffer) => void
  message: (data: string | Buffer | ArrayBuffer) => void
  ping: () => void
  pong: () => void
  upgrading: (transport: EngineTransport) => void
  upgrade: (transport: EngineTransport) => void
  error: (err: Error) => void
  close: (reason: string, description?: unknown) => void
}

/**
 * socket.io-client's `manager.engine` (engine.io-client's `Socket`): the
 * Engine.IO session of one connection attempt; a new one for each.
 */
export declare class Engine extends TypedEmitter<{}, EngineReservedEvents> {
  /** The session id; undefined until open, null once closed. */
  readonly id: string | null | undefined
  readonly readyState: 'opening' | 'open' | 'closing' | 'closed'
  readonly transport: EngineTransport
  readonly upgrading: boolean
  readonly protocol: 4
  /** How binary payloads arrive: Buffers (the default) or ArrayBuffers. */
  binaryType: 'nodebuffer' | 'arraybuffer'
  /** Closes the session ("forced close"); the manager then reconnects if reconnection is on. */
  close(): this
}

/** socket.io-client's `Manager`. */
export declare class Manager extends TypedEmitter<{}, ManagerReservedEvents> {
  readonly uri: string
  readonly opts: Partial<ManagerOptions & SocketOptions>
  readonly nsps: Record<string, Socket>
  /** The Engine.IO session, from the first `open()` on (with `autoConnect`, at once). */
  readonly engine: Engine | undefined
  /** Opens the connection now (with `autoConnect`, the constructor does). */
  constructor(uri?: string, opts?: Partial<ManagerOptions & SocketOptions>)
  socket(nsp: string, opts?: Partial<SocketOptions>): Socket
  /** Opens the connection, shared by this manager's sockets; `fn` hears how the attempt ended. */
  open(fn?: (err?: Error) => void): this
  connect(fn?: (err?: Error) => void): this
  /** As `_close()`. */
  close(): this
  /** As `_close()`. */
  disconnect(): this
  /** Closes the connection with no reconnection: its sockets disconnect with "forced close". */
  _close(): this
  /** The setters apply to the running connection; `reconnection(false)` stops a reconnection in progress. */
  reconnection(): boolean
  reconnection(v: boolean): this
  reconnectionAttempts(): number
  reconnectionAttempts(v: number): this
  reconnectionDelay(): number
  reconnectionDelay(v: number): this
  reconnectionDelayMax(): number
  reconnectionDelayMax(v: number): this
  randomizationFactor(): number
  randomizationFactor(v: number): this
  timeout(): number | false
  timeout(v: number | false): this
}

/** socket.io-client's `Socket`. */
export declare class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> extends TypedEmitter<ListenEvents, SocketReservedEvents> {
  readonly io: Manager
  readonly nsp: string
  id: string | undefined
  connected: boolean
  recovered: boolean
  /** Read (or called) for every CONNECT. */
  auth: SocketOptions['auth']
  get disconnected(): boolean
  get active(): boolean
  get volatile(): this
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): this
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstArg<Last<EventParams<EmitEvents, Ev>>>>
  send(...args: any[]): this
  timeout(timeout: number): this
  compress(compress: boolean): this
  open(): this
  connect(): this
  close(): this
  disconnect(): this
  onAny(listener: (event: string, ...args: any[]) => void): this
  prependAny(listener: (event: string, ...args: any[]) => void): this
  offAny(listener?: (event: string, ...args: any[]) => void): this
  listenersAny(): Array<(event: string, ...args: any[]) => void>
  onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this
  prependAnyOutgoing(listener: (event: string, ...args: any[]) => void): this
  offAnyOutgoing(listener?: (event: string, ...args: any[]) => void): this
  listenersAnyOutgoing(): Array<(event: string, ...args: any[]) => void>
}

/** `io(url, opts)`: a socket of a (shared) manager. */
export declare function io(uri?: string, opts?: Partial<ManagerOptions & SocketOptions>): Socket
export declare function io(opts?: Partial<ManagerOptions & SocketOptions>): Socket
export declare const lookup: typeof io
export declare const connect: typeof io
export default io
