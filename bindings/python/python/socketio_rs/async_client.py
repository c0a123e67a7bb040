"""``AsyncClient``: python-socketio's ``socketio.AsyncClient``, handlers on
the asyncio loop that connected it."""

import asyncio

from . import exceptions
from ._base import NOT_HANDLED, LoopPool, accepts, call_result, next_token, pack, unpack_reply
from ._base_client import BaseClient


async def _maybe_await(r):
    if asyncio.iscoroutine(r) or isinstance(r, asyncio.Future):
        return await r
    return r


class AsyncClient(BaseClient):
    """A Socket.IO client for asyncio; arguments as ``Client``'s. Handlers
    may be coroutines."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loop = None
        self._loop_pool = None
        self._futures = {}
        self._tasks = set()
        self._done = None

    def _make_pool(self):
        self._loop_pool = LoopPool(self._dispatch, 'socketio-asyncio-client')
        if self._loop is not None:
            self._loop_pool.bind(self._loop)
        return self._loop_pool.pool

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def connect(self, url, headers={}, auth=None, transports=None,  # noqa: B006
                      namespaces=None, socketio_path='socket.io', wait=True, wait_timeout=1,
                      retry=False):
        """Connects, as ``Client.connect``."""
        self._loop = asyncio.get_running_loop()
        if self._loop_pool is not None:
            self._loop_pool.bind(self._loop)
        self._done = asyncio.Event()
        self._prepare(url, headers, auth, transports, namespaces, socketio_path)
        waits = []
        for ns, n in self._natives.items():
            token = next_token()
            fut = self._loop.create_future()
            self._futures[token] = fut
            n.connect(token)
            waits.append((ns, token, fut))
        if not wait:
            return
        results = []
        for ns, token, fut in waits:
            try:
                err, _ = await asyncio.wait_for(fut, self.request_timeout + wait_timeout)
            except asyncio.TimeoutError:
                err = ('timeout', 'connection timed out', None)
            finally:
                self._futures.pop(token, None)
            results.append((ns, err))
        exc = self._failure(results)
        if exc is not None:
            if not retry:
                await self.disconnect()
            raise exc

    async def wait(self):
        """Waits until the connection ends for good."""
        if self._done is not None:
            await self._done.wait()

    async def emit(self, event, data=None, namespace=None, callback=None):
        """Emits an event; ``callback`` (may be a coroutine function) gets
        the acknowledgement."""
        native = self._native(namespace)
        if callback is None:
            native.emit(event, pack(data))
            return
        token = next_token()
        self._callbacks[token] = callback
        native.emit_with_ack(event, pack(data), None, token)

    async def send(self, data, namespace=None, callback=None):
        """Emits a ``message`` event."""
        await self.emit('message', data=data, namespace=namespace, callback=callback)

    async def call(self, event, data=None, namespace=None, timeout=60):
        """Emits and waits for the acknowledgement."""
        native = self._native(namespace)
        token = next_token()
        fut = asyncio.get_running_loop().create_future()
        self._futures[token] = fut
        native.emit_with_ack(event, pack(data), timeout, token)
        try:
            err, args = await asyncio.wait_for(fut, None if timeout is None else timeout + 5)
        except asyncio.TimeoutError:
            raise exceptions.TimeoutError() from None
        finally:
            self._futures.pop(token, None)
        if err is not None:
            if err[0] == 'disconnected':
                raise exceptions.DisconnectedError(err[1])
            raise exceptions.TimeoutError()
        return call_result(args)

    async def disconnect(self):
        """Disconnects every namespace; no reconnection follows. Returns
        once the ``disconnect`` handlers have run (or after 5 s)."""
        natives = list(self._natives.values())
        connected = [n for n in natives if n.connected()]
        for n in natives:
            n.disconnect()
        if connected and self._done is not None:
            try:
                await asyncio.wait_for(self._done.wait(), 5)
            except asyncio.TimeoutError:
                pass
        self._set_done()

    async def shutdown(self):
        """Same as ``disconnect``."""
        await self.disconnect()

    def start_background_task(self, target, *args, **kwargs):
        """Runs the coroutine function ``target`` as a task."""
        return self._spawn(target(*args, **kwargs))

    async def sleep(self, seconds=0):
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)

    # -- dispatch (on the loop) -----------------------------------------------

    def _set_done(self):
        self._closed.set()
        if self._done is not None:
            self._done.set()

    def _dispatch(self, ev):
        kind = ev[0]
        if kind == 'done':
            _, token, outcome = ev
            fut = self._futures.pop(token, None)
            if fut is not None:
                if not fut.done():
                    fut.set_result(outcome)
                return
            callback = self._callbacks.pop(token, None)
            err, args = outcome
            if callback is not None and err is None:
                self._spawn(self._guard('callback', self._run(callback, args)))
            return
        self._spawn(self._guard(kind, self._handle(ev)))

    @staticmethod
    async def _run(callback, args):
        await _maybe_await(callback(*args))

    async def _guard(self, kind, coro):
        try:
            await coro
        except Exception:
            self.logger.exception('socketio_rs: error handling %s', kind)

    async def _handle(self, ev):
        kind = ev[0]
        if kind == 'event':
            _, ns, event, args, ack = ev
            r = await self._trigger_event(event, ns, *args)
            if ack is not None and r is not NOT_HANDLED:
                ack.send(unpack_reply(r))
        elif kind == 'connect':
            await self._trigger_event('connect', ev[1])
        elif kind == 'disconnect':
            _, ns, reason = ev
            try:
                await self._trigger_event('disconnect', ns, self._reason(reason))
            finally:
                if self._final(reason) and not self.connected:
                    self._set_done()
        elif kind == 'connect_error':
            _, ns, message, data = ev
            payload = {'message': message}
            if data is not None:
                payload['data'] = data
            await self._trigger_event('connect_error', ns, payload)
        elif kind == 'reconnect' and ev[2] == 'failed':
            self._set_done()

    async def _trigger_event(self, event, namespace, *args):
        handler, args = self._get_event_handler(event, namespace, args)
        if handler:
            if event == 'disconnect' and not accepts(handler, len(args)):
                return await _maybe_await(handler(*args[:-1]))
            return await _maybe_await(handler(*args))
        handler, args = self._get_namespace_handler(namespace, args)
        if handler:
            return await _maybe_await(handler.trigger_event(event, *args))
        return NOT_HANDLED
