// Types of socketio-rs/admin-ui: @socket.io/admin-ui's instrument() on the
// socketio-rs Rust core.

import type { Server } from './index'

/** `{type: 'basic', username, password}`: `password` is a bcrypt hash. */
export interface BasicAuthentication {
  type: 'basic'
  username: string
  password: string
}

export declare abstract class Store {
  abstract doesSessionExist(sessionId: string): Promise<boolean>
  abstract saveSession(sessionId: string): void
}

/** The session ids of logged-in UIs, in this process's memory. */
export declare class InMemoryStore extends Store {
  doesSessionExist(sessionId: string): Promise<boolean>
  saveSession(sessionId: string): void
}

export interface InstrumentOptions {
  /**
   * The name of the admin namespace
   *
   * @default "/admin"
   */
  namespaceName: string
  /** The authentication method (required: `false` to disable it). */
  auth?: false | BasicAuthentication
  /**
   * Whether updates are allowed
   * @default false
   */
  readonly: boolean
  /**
   * The unique ID of the server
   * @default `require("os").hostname()`
   */
  serverId?: string
  /** The store: an `InMemoryStore` (the default) only. */
  store: InMemoryStore
  /**
   * Whether to send all events or only aggregated events to the UI.
   * @default process.env.NODE_ENV || "development"
   */
  mode: 'development' | 'production'
}

export declare function instrument(io: Server<any, any, any, any>, opts: Partial<InstrumentOptions>): void
