// Types of socketio-rs/emitter: @socket.io/redis-emitter's API on the
// socketio-rs Rust core.

export interface EmitterOptions {
  /** The servers' adapter key (default "socket.io"). */
  key?: string
}

/** A client of the `redis` or `ioredis` package (only its address is
 *  read: the Rust core makes its own connection), or a Redis URL. */
export type RedisClientLike = string | { options?: object }

export declare const RESERVED_EVENTS: ReadonlySet<string>

/** The Redis URL of a `redis` / `ioredis` client, or `client` itself when
 *  it is a string. */
export declare function redisUrl(client: RedisClientLike): string

export declare class BroadcastOperator {
  readonly rooms: Set<string>
  readonly exceptRooms: Set<string>
  readonly flags: { volatile?: boolean; compress?: boolean }
  to(room: string | string[]): BroadcastOperator
  in(room: string | string[]): BroadcastOperator
  except(room: string | string[]): BroadcastOperator
  compress(compress: boolean): BroadcastOperator
  get volatile(): BroadcastOperator
  /** Emits to the matching clients of every server; always true. */
  emit(ev: string, ...args: any[]): true
  /** Resolves once Redis took the request. */
  socketsJoin(rooms: string | string[]): Promise<void>
  socketsLeave(rooms: string | string[]): Promise<void>
  disconnectSockets(close?: boolean): Promise<void>
}

export declare class Emitter {
  constructor(redisClient: RedisClientLike, opts?: EmitterOptions, nsp?: string)
  readonly nsp: string
  of(nsp: string): Emitter
  emit(ev: string, ...args: any[]): true
  to(room: string | string[]): BroadcastOperator
  in(room: string | string[]): BroadcastOperator
  except(room: string | string[]): BroadcastOperator
  get volatile(): BroadcastOperator
  compress(compress: boolean): BroadcastOperator
  socketsJoin(rooms: string | string[]): Promise<void>
  socketsLeave(rooms: string | string[]): Promise<void>
  disconnectSockets(close?: boolean): Promise<void>
  /** Reaches the servers' `serverSideEmit` listeners; no acknowledgements. */
  serverSideEmit(ev: string, ...args: any[]): Promise<void>
}
