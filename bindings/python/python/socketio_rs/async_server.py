"""``AsyncServer``: python-socketio's ``socketio.AsyncServer``, coroutine
handlers on the user's asyncio loop."""

import asyncio
import contextvars
import dis
import inspect
import sys
import types
import weakref

from . import exceptions
from ._base import (NOT_HANDLED, LoopPool, accepts, call_result, is_refusal, next_token,
                    pack, refusal)
from ._base_server import CALLBACK_TIMEOUT, BaseServer

_EAGER_TASKS = sys.version_info >= (3, 12)

_Coroutine = types.CoroutineType
_copy_context = contextvars.copy_context

# The instructions a coroutine suspends at (YIELD_VALUE / YIELD_FROM: every
# await, async for and async with goes through one), and those that start
# one; None if this interpreter has neither of the first two, which would
# mean its bytecode is not understood here.
_SUSPENDING = frozenset(dis.opmap[n] for n in (
    'YIELD_VALUE', 'YIELD_FROM', 'SEND', 'GET_AWAITABLE', 'GET_AITER', 'GET_ANEXT',
    'BEFORE_ASYNC_WITH', 'SETUP_ASYNC_WITH', 'END_ASYNC_FOR') if n in dis.opmap) \
    if 'YIELD_VALUE' in dis.opmap or 'YIELD_FROM' in dis.opmap else None

# By id(code): hashing a code object hashes its whole bytecode and
# constants. Each entry keeps its code object alive, so no other takes its id.
_never_suspends = {}


def never_suspends(code):
    """Whether a coroutine of this code object runs to its end in one step:
    its body has no ``await``, ``async for`` or ``async with`` (nested
    functions are code objects of their own). Such a handler needs no task:
    nothing in it can use one (``asyncio.timeout``, ``TaskGroup`` and their
    like are ``async with``)."""
    entry = _never_suspends.get(id(code))
    if entry is None:
        ready = _SUSPENDING is not None and \
            not any(i.opcode in _SUSPENDING for i in dis.get_instructions(code))
        if len(_never_suspends) >= 4096:
            _never_suspends.clear()  # code made at run time, over and over
        entry = _never_suspends[id(code)] = (code, ready)
    return entry[1]


def _raise(exc):
    raise exc


@types.coroutine
def _resume(coro, first):
    """Continues, in a task, a coroutine whose first step was run already and
    yielded ``first``."""
    send, throw = coro.send, coro.throw
    yielded = first
    while True:
        try:
            value = yield yielded
        except BaseException as exc:  # noqa: BLE001 - handed to the coroutine
            try:
                yielded = throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = send(value)
            except StopIteration as stop:
                return stop.value

#: How long the Admin UI's login waits for a coroutine ``auth`` check.
ADMIN_AUTH_TIMEOUT = 60.0


async def _awaited(awaitable):
    return await awaitable


async def _maybe_await(r):
    if asyncio.iscoroutine(r) or isinstance(r, asyncio.Future):
        return await r
    return r


class AsyncServer(BaseServer):
    """A Socket.IO server whose handlers (coroutines or plain functions)
    run on the asyncio loop that called ``listen`` (or serves the ASGI
    app). Arguments as ``Server``'s."""

    _asyncio_based = True

    def __init__(self, client_manager=None, logger=False, json=None, async_handlers=True,
                 namespaces=None, **kwargs):
        super().__init__(client_manager=client_manager, logger=logger, json=json,
                         async_handlers=async_handlers, namespaces=namespaces, **kwargs)
        # `serializer` arrives in kwargs here, as in python-socketio.
        self._loop = None
        self._loop_pool = None
        self._tasks = set()
        self._futures = {}
        self._ws = {}
        self._stopped = None
        # Jobs of the native pool handed to the loop for a later iteration
        # (tasks not started yet): while any is, events are not run at once
        # but queued behind them, so handlers start in the order their
        # events came.
        self._queued = 0
        self._run_event_now = self._run_event  # bound once: the hot path

    def _make_pool(self):
        self._loop_pool = LoopPool(self._dispatch, 'socketio-asyncio', self._on_event)
        if self._loop is not None:
            self._loop_pool.bind(self._loop)
        return self._loop_pool.pool

    def _bind_loop(self):
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop.is_closed():
            self._loop = loop
            self._stopped = asyncio.Event()
            self._queued = 0  # what waited on a closed loop never starts
            if self._loop_pool is not None:
                self._loop_pool.bind(loop)
        return loop

    def _spawn_handler(self, coro):
        # As python-socketio, the loop alone keeps a handler's task alive (no
        # bookkeeping per event); a constant name spares formatting one.
        # Python 3.12+: the task runs at once, up to its first suspension,
        # unless something queued before must start first.
        if _EAGER_TASKS and not self._queued:
            asyncio.Task(coro, loop=self._loop, name='socketio_rs-handler', eager_start=True)
        else:
            self._loop.create_task(coro, name='socketio_rs-handler')
            self._mark_queued()

    def _mark_queued(self):
        # What was just handed to the loop runs before this callback (the
        # loop runs its callbacks in order), which ends the wait.
        self._queued += 1
        self._loop.call_soon(self._unqueue)

    def _unqueue(self):
        self._queued -= 1

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- serving -----------------------------------------------------------

    def attach(self, app, socketio_path='socket.io'):
        """Serves under ``/socketio_path/`` of an aiohttp ``web.Application``
        (python-socketio's aiohttp mode); for ASGI use ``ASGIApp``."""
        from .aiohttp import attach
        attach(self, app, socketio_path)

    async def listen(self, host='127.0.0.1', port=5000, socketio_path='socket.io'):
        """Serves on ``host:port`` with the Rust HTTP server (port 0: any
        free port); returns the bound ``(host, port)``."""
        loop = self._bind_loop()
        native = self._get_native(socketio_path)
        return await loop.run_in_executor(None, native.listen, host, port)

    async def wait(self):
        """Waits until ``shutdown()``."""
        self._bind_loop()
        await self._stopped.wait()

    async def shutdown(self):
        """Stops serving and disconnects every client."""
        loop = asyncio.get_running_loop()
        if self._pubsub is not None:
            await loop.run_in_executor(None, self._pubsub._stop)
        native = self._native
        if native is not None:
            await loop.run_in_executor(None, native.close)
            self._loop_pool.close()
        if self._stopped is not None:
            self._stopped.set()

    # -- emitting -----------------------------------------------------------

    async def emit(self, event, data=None, to=None, room=None, skip_sid=None, namespace=None,
                   callback=None, ignore_queue=False):
        """As ``Server.emit``; ``callback`` may be a coroutine function."""
        namespace = namespace or '/'
        room = to if to is not None else room
        if self._pubsub is None or ignore_queue:
            self._emit_local(event, data, namespace, room, skip_sid, callback)
            return
        if callback is not None:
            self._bind_loop()  # where the other servers' answers are handled
        payload, _ = self._pubsub_emit(event, data, namespace, room, skip_sid, callback)
        if payload is not None:
            await self._pubsub._asend(payload)

    async def send(self, data, to=None, room=None, skip_sid=None, namespace=None,
                   callback=None, ignore_queue=False):
        """Emits a ``message`` event."""
        await self.emit('message', data=data, to=to, room=room, skip_sid=skip_sid,
                        namespace=namespace, callback=callback, ignore_queue=ignore_queue)

    async def call(self, event, data=None, to=None, sid=None, namespace=None, timeout=60,
                   ignore_queue=False):
        """Emits to one client and waits for its acknowledgement."""
        self._bind_loop()
        sid = to or sid
        namespace = namespace or '/'
        # python-socketio's None: no limit (here, the callback limit).
        limit = CALLBACK_TIMEOUT if timeout is None else timeout
        if self._pubsub is not None and not ignore_queue and not self._is_here(namespace, sid):
            return await self._call_remote(event, data, sid, namespace, limit)
        token = next_token()
        fut = asyncio.get_running_loop().create_future()
        self._futures[token] = fut
        self._get_native().emit_with_ack(namespace, sid, event, pack(data), limit, token)
        try:
            err, args = await asyncio.wait_for(fut, limit + 5)
        except asyncio.TimeoutError:
            raise exceptions.TimeoutError() from None
        finally:
            self._futures.pop(token, None)
        if err is not None:
            if err[0] == 'disconnected':
                raise exceptions.DisconnectedError(err[1])
            raise exceptions.TimeoutError()
        return call_result(args)

    async def _call_remote(self, event, data, sid, namespace, limit):
        # A client of another server: its answer comes back through Redis.
        fut = asyncio.get_running_loop().create_future()

        def callback(*args):
            if not fut.done():
                fut.set_result(args)

        payload, key = self._pubsub_emit(event, data, namespace, sid, None, callback)
        try:
            await self._pubsub._asend(payload)
            args = await asyncio.wait_for(fut, limit)
        except asyncio.TimeoutError:
            raise exceptions.TimeoutError() from None
        finally:
            self._remote_acks.drop(key)
        return call_result(list(args))

    # -- rooms, sessions, disconnection -----------------------------------------

    async def enter_room(self, sid, room, namespace=None):
        """Puts a client in a room (with a ``RedisManager``, a client of
        any server of the cluster)."""
        namespace = namespace or '/'
        if self._pubsub is not None and not self._is_here(namespace, sid):
            await self._pubsub._asend(self._pubsub._message('enter_room', sid=sid, room=room,
                                                            namespace=namespace))
            return
        self._get_native().enter_room(namespace, sid, room)

    async def leave_room(self, sid, room, namespace=None):
        """Takes a client out of a room."""
        namespace = namespace or '/'
        if self._pubsub is not None and not self._is_here(namespace, sid):
            await self._pubsub._asend(self._pubsub._message('leave_room', sid=sid, room=room,
                                                            namespace=namespace))
            return
        self._get_native().leave_room(namespace, sid, room)

    async def close_room(self, room, namespace=None):
        """Takes every client out of a room (with a ``RedisManager``, on
        every server)."""
        namespace = namespace or '/'
        self._get_native().close_room(namespace, room)
        if self._pubsub is not None:
            await self._pubsub._asend(self._pubsub._message('close_room', room=room,
                                                            namespace=namespace))

    async def get_session(self, sid, namespace=None):
        """The session dict of a client."""
        return self._session(sid, namespace)

    async def save_session(self, sid, session, namespace=None):
        """Replaces the session dict of a client."""
        self._save(sid, session, namespace)

    def session(self, sid, namespace=None):
        """``async with sio.session(sid) as session:`` edits a session."""
        server = self

        class _Ctx:
            async def __aenter__(self):
                self.session = await server.get_session(sid, namespace=namespace)
                return self.session

            async def __aexit__(self, *exc):
                await server.save_session(sid, self.session, namespace=namespace)

        return _Ctx()

    async def disconnect(self, sid, namespace=None, ignore_queue=False):
        """Disconnects a client from a namespace (with a ``RedisManager``,
        a client of any server, unless ``ignore_queue``)."""
        namespace = namespace or '/'
        if self._pubsub is not None and not ignore_queue and \
                not self._is_here(namespace, sid):
            await self._pubsub._asend(self._pubsub._message('disconnect', sid=sid,
                                                            namespace=namespace))
            return
        self._get_native().disconnect(namespace, sid)

    # -- python-socketio's pub/sub protocol: the listener's side -------------------

    def _pubsub_ack(self, sid, callback_id, args):
        # On the listener thread: the callback runs on the server's loop.
        loop = self._loop
        if loop is None or loop.is_closed():
            self.logger.warning('socketio_rs: acknowledgement from another server '
                                'dropped: the server has no running loop')
            return
        try:
            loop.call_soon_threadsafe(self._fire_remote_ack, sid, callback_id, args)
        except RuntimeError:
            pass  # the loop closed meanwhile

    def _fire_remote_ack(self, sid, callback_id, args):
        callback = self._take_remote_ack(sid, callback_id)
        if callback is not None:
            self._spawn(self._guard('callback', self._run_callback(callback, args)))

    def _pubsub_returner(self, host_id, sid, namespace, callback_id):
        # A client here acknowledged another server's emit: the answer goes
        # back to that server (from the loop, where acknowledgements land).
        manager = self._pubsub

        async def answer(*args):
            await manager._asend(manager._callback_payload(host_id, sid, namespace,
                                                           callback_id, args))

        return answer

    # -- tasks -------------------------------------------------------------------

    def start_background_task(self, target, *args, **kwargs):
        """Runs the coroutine function ``target`` as a task; returns it."""
        return self._spawn(target(*args, **kwargs))

    async def sleep(self, seconds=0):
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)

    def _admin_callable(self, auth):
        # A coroutine function (or one returning an awaitable) runs on the
        # server's loop; the native check waits for it on its own thread.
        server = weakref.ref(self)

        def call(client_auth):
            r = auth(client_auth)
            if not inspect.isawaitable(r):
                return r
            sio = server()
            loop = sio._loop if sio is not None else None
            if loop is None or loop.is_closed():
                if asyncio.iscoroutine(r):
                    r.close()
                return False
            return asyncio.run_coroutine_threadsafe(_awaited(r), loop).result(
                ADMIN_AUTH_TIMEOUT)

        return call

    # -- dispatch (on the loop) ------------------------------------------------

    def _on_event(self, namespace, sid, event, args, ack):
        # A socket's event (the native pool calls this directly).
        if self._queued:
            self._spawn_handler(self._handle_event(namespace, sid, event, args, ack))
        else:
            # Each handler in a context of its own, as in a task.
            _copy_context().run(self._run_event_now, namespace, sid, event, args, ack)

    def _dispatch(self, ev):
        kind = ev[0]
        if kind == 'event':
            self._on_event(ev[1], ev[2], ev[3], ev[4], ev[5])
        elif kind == 'connect':
            self._spawn(self._guard(kind, self._handle_connect(*ev[1:])))
            self._mark_queued()
        elif kind == 'disconnect':
            self._spawn(self._guard(kind, self._handle_disconnect(*ev[1:])))
            self._mark_queued()
        elif kind == 'done':
            self._handle_done(*ev[1:])
        elif kind == 'ws':
            queue = self._ws.get(ev[1])
            if queue is not None:
                queue.put_nowait((ev[2], ev[3]))

    async def _guard(self, kind, coro):
        try:
            await coro
        except Exception:
            self.logger.exception('socketio_rs: error handling %s', kind)

    async def _handle_connect(self, namespace, sid, handshake, reply):
        environ, auth = self._environ_for(namespace, sid, handshake)
        try:
            r = await self._call_connect(namespace, sid, environ, auth)
        except Exception as exc:  # noqa: BLE001 - refusals and handler bugs alike
            if is_refusal(exc):
                message, data = refusal(exc)
                reply.refuse(message, data)
            else:
                self.logger.exception('socketio_rs: error in connect handler')
                reply.refuse('Connection rejected by server')
            self._forget(namespace, sid)
            return
        if r is False:
            reply.refuse('Connection rejected by server')
            self._forget(namespace, sid)
        else:
            reply.accept()

    async def _call_connect(self, namespace, sid, environ, auth):
        if auth:
            return await self._trigger_event('connect', namespace, sid, environ, auth)
        try:
            return await self._trigger_event('connect', namespace, sid, environ, None)
        except TypeError as exc:
            try:
                return await self._trigger_event('connect', namespace, sid, environ)
            except TypeError:
                raise exc from None

    def _run_event(self, namespace, sid, event, args, ack):
        # The hot path: the handler runs now, without a task, when it is a
        # plain function or a coroutine that cannot suspend (the common
        # handler that answers at once): no task to create, schedule, run
        # and free on a later iteration of the loop. Anything else goes on in
        # a task (started now on Python 3.12+). Catches its own errors.
        try:
            # The namespace's own handler, first in python-socketio's
            # resolution (``_call_handler`` has the rest).
            handlers = self.handlers.get(namespace)
            handler = handlers.get(event) if handlers is not None else None
            if handler and event != 'disconnect':
                r = handler(sid, *args)
            else:
                r = self._call_handler(event, namespace, sid, *args)
            if type(r) is _Coroutine:
                code = r.cr_code
                entry = _never_suspends.get(id(code))
                if not (entry[1] if entry is not None else never_suspends(code)):
                    self._spawn_handler(self._finish_event(r, event, ack))
                    return
                try:
                    first = r.send(None)
                except StopIteration as stop:
                    r = stop.value
                else:
                    # Not expected (it has no suspension point): go on in a task.
                    self._spawn_handler(self._finish_event(_resume(r, first), event, ack))
                    return
            elif asyncio.iscoroutine(r) or isinstance(r, asyncio.Future):
                self._spawn_handler(self._finish_event(r, event, ack))
                return
            if ack is not None and r is not NOT_HANDLED:
                ack.reply(r)
        except Exception:
            self.logger.exception('socketio_rs: error in handler of %r', event)
        except asyncio.CancelledError:
            pass  # as a task that cancels itself: silently
        except (SystemExit, KeyboardInterrupt) as exc:
            # Out of the loop, as from a task's step (the native caller
            # would only report it).
            self._loop.call_soon(_raise, exc)

    async def _finish_event(self, awaitable, event, ack):
        try:
            r = await awaitable
            if ack is not None:
                ack.reply(r)
        except Exception:
            self.logger.exception('socketio_rs: error in handler of %r', event)

    async def _handle_event(self, namespace, sid, event, args, ack):
        # An event queued behind what the loop has yet to start: one
        # coroutine, which catches its own errors.
        try:
            r = self._call_handler(event, namespace, sid, *args)
            if asyncio.iscoroutine(r) or isinstance(r, asyncio.Future):
                r = await r
            if ack is not None and r is not NOT_HANDLED:
                ack.reply(r)
        except Exception:
            self.logger.exception('socketio_rs: error in handler of %r', event)

    async def _handle_disconnect(self, namespace, sid, reason):
        try:
            await self._trigger_event('disconnect', namespace, sid, self._reason(reason))
        finally:
            self._forget(namespace, sid)

    def _handle_done(self, token, outcome):
        fut = self._futures.pop(token, None)
        if fut is not None:
            if not fut.done():
                fut.set_result(outcome)
            return
        callback = self._callbacks.pop(token, None)
        err, args = outcome
        if callback is not None and err is None:
            self._spawn(self._guard('callback', self._run_callback(callback, args)))
            self._mark_queued()

    @staticmethod
    async def _run_callback(callback, args):
        await _maybe_await(callback(*args))

    def _call_handler(self, event, namespace, *args):
        """Calls the handler of ``event``: its result, maybe awaitable, or
        ``NOT_HANDLED``."""
        handler, args = self._get_event_handler(event, namespace, args)
        if handler:
            if event == 'disconnect' and not accepts(handler, len(args)):
                return handler(*args[:-1])
            return handler(*args)
        handler, args = self._get_namespace_handler(namespace, args)
        if handler:
            return handler.trigger_event(event, *args)
        return NOT_HANDLED

    async def _trigger_event(self, event, namespace, *args):
        return await _maybe_await(self._call_handler(event, namespace, *args))
