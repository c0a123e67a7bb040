// socket.io-client code using the manager's Engine.IO session, its ping
// and its live settings must type-check against client.d.ts.

import { io, Manager, Engine, EnginePacket } from '../../client'

const socket = io('http://localhost:3000', { auth: (cb) => cb({ token: 'x' }) })
const engine: Engine | undefined = socket.io.engine
if (engine) {
  const id: string | null | undefined = engine.id
  const name: 'polling' | 'websocket' = engine.transport.name
  engine.binaryType = 'arraybuffer'
  engine.on('packet', (p: EnginePacket) => void p.type)
  engine.on('packetCreate', ({ type, data, options }) => void [type, data, options?.compress])
  engine.on('upgrade', (t) => void t.name)
  engine.on('close', (reason: string) => void reason)
  engine.close()
  void [id, name]
  // @ts-expect-error: only the two binary types Node offers
  engine.binaryType = 'blob'
}
socket.io.on('ping', () => {})
socket.io.on('open', () => {})
socket.io.on('close', (reason: string) => void reason)

const manager = new Manager('http://localhost:3000', { autoConnect: false })
manager.reconnection(false).reconnectionAttempts(3).reconnectionDelay(100)
manager.reconnectionDelayMax(1000).randomizationFactor(0).timeout(false)
const on: boolean = manager.reconnection()
manager.open((err?: Error) => void err)
manager._close()
void on
