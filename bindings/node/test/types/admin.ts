// Compiled (not run) by the type test: @socket.io/admin-ui-style code must
// type-check against admin-ui.d.ts.
import { Server } from '../../index'
import { instrument, InMemoryStore } from '../../admin-ui'

interface Events {
  hello: (name: string) => void
}

const io = new Server<Events>()
instrument(io, {
  auth: { type: 'basic', username: 'admin', password: '$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS' },
  mode: 'production',
  readonly: true,
  namespaceName: '/admin',
  serverId: 'eu-1',
  store: new InMemoryStore(),
})
instrument(new Server(), { auth: false })
const found: Promise<boolean> = new InMemoryStore().doesSessionExist('id')
void found

// @ts-expect-error: the mode is one of two words
instrument(io, { auth: false, mode: 'staging' })
// @ts-expect-error: basic auth needs its type
instrument(io, { auth: { username: 'a', password: 'b' } })
