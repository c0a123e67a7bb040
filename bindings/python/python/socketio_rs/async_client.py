"""``AsyncClient``: python-socketio's ``socketio.AsyncClient``, handlers on
the asyncio loop that connected it."""

import asyncio
import inspect
import os
import signal
import threading
import time
import weakref

from . import _native, exceptions
from ._base import NOT_HANDLED, LoopPool, accepts, call_result, next_token, pack, unpack_reply
from ._base_client import BaseClient, weak_sink


async def _maybe_await(r):
    if asyncio.iscoroutine(r) or isinstance(r, asyncio.Future):
        return await r
    return r


# One wake-up pipe per event loop, for the clients on it: a client holds no
# file descriptor of its own. The loop's reader holds the waker; the entry
# goes with the loop.
_wakers: 'weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]' = \
    weakref.WeakKeyDictionary()


def _loop_waker(loop):
    """The loop's shared waker; None for a loop that cannot be referenced
    weakly (its clients then have a pipe each)."""
    try:
        waker = _wakers.get(loop)
    except TypeError:
        return None
    if waker is None:
        waker = _native.LoopWaker()
        _wakers[loop] = waker
        loop.add_reader(waker.fd(), waker.run_pending)
    return waker


# python-engineio's SIGINT handling for asyncio (``handle_sigint=True``, the
# default): the first ``connect`` on a loop, from the main thread, adds a
# SIGINT handler to the loop that disconnects the loop's connected clients
# (their ``disconnect`` handlers run), cancels its other tasks and stops it.
_async_clients = weakref.WeakSet()
_sigint_loops = weakref.WeakSet()


def _on_sigint():
    async def run():
        loop = asyncio.get_running_loop()
        for c in list(_async_clients):
            if c._loop is loop and (c.connected or c._reconnecting):
                try:
                    await c.disconnect()
                except Exception:
                    c.logger.exception('socketio_rs: disconnecting on SIGINT')
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        loop.stop()

    asyncio.ensure_future(run())


def _install_sigint(loop, logger):
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if loop in _sigint_loops:
            return
        loop.add_signal_handler(signal.SIGINT, _on_sigint)
        _sigint_loops.add(loop)
    except NotImplementedError:
        logger.warning('Signal handler is unsupported')
    except (RuntimeError, TypeError, ValueError):
        pass


class AsyncClient(BaseClient):
    """A Socket.IO client for asyncio; arguments as ``Client``'s. Handlers
    may be coroutines; ``url``, ``headers`` and ``auth`` may be coroutine
    functions."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loop = None
        self._pool_loop = None
        self._loop_pool = None
        self._futures = {}
        self._tasks = set()
        self._done = None
        self._reconnect_task = None
        self._reconnect_abort = None
        _async_clients.add(self)

    def _make_pool(self):
        loop = self._pool_loop = self._loop
        waker = _loop_waker(loop) if os.name == 'posix' else None
        if waker is not None:
            pool = _native.Pool.for_loop(weak_sink(self, '_dispatch'), waker)
            weakref.finalize(self, pool.close)
            return pool
        # Otherwise a pool of its own: on Unix, with its own pipe; elsewhere a
        # native worker hands the events to the loop, and, parked while
        # disconnected, holds no thread then.
        self._loop_pool = LoopPool(weak_sink(self, '_dispatch'), 'socketio-asyncio-client')
        self._loop_pool.bind(loop)
        weakref.finalize(self, self._loop_pool.close)
        return self._loop_pool.pool

    def _pool_active(self):
        if self._loop_pool is not None and self._loop_pool.pool is self._pool:
            self._pool.park(False)

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def connect(self, url, headers={}, auth=None, transports=None,  # noqa: B006
                      namespaces=None, socketio_path='socket.io', wait=True, wait_timeout=1,
                      retry=False):
        """Connects, as ``Client.connect``."""
        if self.connected:
            raise exceptions.ConnectionError('Already connected')
        await self._stop_reconnect()
        self._loop = asyncio.get_running_loop()
        if self.handle_sigint:
            _install_sigint(self._loop, self.logger)
        if self._pool is not None and self._pool_loop is not self._loop:
            self._pool = None  # made for another loop
        self._done = asyncio.Event()
        self._reconnect_abort = asyncio.Event()
        self._remember(url, headers, auth, transports, namespaces, socketio_path)
        exc = await self._attempt(wait, wait_timeout)
        if exc is not None:
            if not retry:
                await self.disconnect()
            elif self._python_reconnects:
                self._start_reconnect()
            raise exc

    @staticmethod
    async def _real(value):
        if not callable(value):
            return value
        r = value()
        if inspect.isawaitable(r):
            r = await r
        return r

    async def _attempt(self, wait, wait_timeout):
        """One connection, as ``Client._attempt``."""
        url = await self._real(self.connection_url)
        headers = await self._real(self.connection_headers)
        auth = await self._real(self.connection_auth)
        self._build(url, headers, auth)
        waits = []
        for ns, n in list(self._natives.items()):
            token = next_token()
            fut = self._loop.create_future()
            self._futures[token] = fut
            n.connect(token)
            waits.append((ns, token, fut))
        if not wait:
            await self._settle(waits)
            return None
        deadline = time.monotonic() + self.request_timeout + wait_timeout
        results = []
        for ns, token, fut in waits:
            try:
                err, _ = await asyncio.wait_for(asyncio.shield(fut),
                                                max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                err = ('timeout', 'connection timed out', None)
            finally:
                self._futures.pop(token, None)
            results.append((ns, err))
        exc = self._failure(results)
        if exc is None:
            await self._settle(waits)
        return exc

    async def _settle(self, waits):
        """Waits (at most ``request_timeout``) until the connection is on
        its final transport, or failed."""
        deadline = time.monotonic() + self.request_timeout
        while not self._upgrade_settled() and time.monotonic() < deadline:
            if any(f.done() and not f.cancelled() and f.result()[0] is not None
                   for _, _, f in waits):
                return
            await asyncio.sleep(0.01)

    # -- reconnection from Python (callable url, headers or auth) ---------------

    def _start_reconnect(self):
        if self._reconnecting or self._reconnect_abort is None or \
                self._reconnect_abort.is_set():
            return
        self._reconnecting = True
        self._reconnect_task = self._spawn(self._reconnect_loop())

    async def _stop_reconnect(self):
        """Ends the reconnection loop, an attempt in progress included."""
        task = self._reconnect_task
        if self._reconnecting and self._reconnect_abort is not None:
            self._reconnect_abort.set()
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait({task}, timeout=5)

    async def _reconnect_loop(self):
        abort = self._reconnect_abort
        attempts = 0
        try:
            for delay in self._delays():
                try:
                    await asyncio.wait_for(abort.wait(), delay)
                    break  # aborted
                except asyncio.TimeoutError:
                    pass
                attempts += 1
                try:
                    exc = await self._attempt(True, 1)
                except Exception as e:
                    self.logger.exception('socketio_rs: reconnection attempt failed')
                    exc = e
                if abort.is_set():
                    for n in list(self._natives.values()):
                        n.disconnect()
                    break
                if exc is None:
                    if self.connected:
                        return
                    continue  # lost again already: try again
                for n in list(self._natives.values()):
                    n.disconnect()
                if self._gave_up(attempts):
                    break
        finally:
            self._reconnecting = False
            self._reconnect_task = None
        if not abort.is_set():
            self._set_done()

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
        await self._stop_reconnect()
        natives = list(self._natives.values())
        connected = [n for n in natives if n.connected()]
        for n in natives:
            n.disconnect()
        if connected and self._done is not None:
            # asyncio.wait, not wait_for: before Python 3.12, wait_for could
            # swallow a cancellation of the caller.
            waiter = asyncio.ensure_future(self._done.wait())
            try:
                await asyncio.wait({waiter}, timeout=5)
            finally:
                waiter.cancel()
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
        """The connection ended for good: ``wait`` returns (and a native
        worker, where there is one, exits once idle)."""
        self._closed.set()
        if self._done is not None:
            self._done.set()
        if self._loop_pool is not None and self._loop_pool.pool is self._pool:
            self._pool.park(True)

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
                if self.connected or self._reconnecting:
                    pass
                elif self._final(reason) or (self._reconnect_abort is not None
                                             and self._reconnect_abort.is_set()):
                    self._set_done()
                elif self._python_reconnects:
                    self._start_reconnect()
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
