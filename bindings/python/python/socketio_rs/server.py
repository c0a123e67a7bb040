"""``Server``: python-socketio's ``socketio.Server`` with its handlers on a
pool of worker threads."""

import threading
import time

from . import _native, exceptions
from ._base import (NOT_HANDLED, accepts, call_result, is_refusal, pack,
                    refusal, track_pool, unpack_reply)
from ._base_server import CALLBACK_TIMEOUT, BaseServer


class Server(BaseServer):
    """A Socket.IO server whose handlers run on worker threads.

    The arguments are python-socketio's; Engine.IO options
    (``ping_interval``, ``ping_timeout``, ``max_http_buffer_size``,
    ``cors_allowed_origins``, ``transports``...) go in ``kwargs``.
    ``max_workers`` bounds the handler threads: the events of one client run
    one at a time, in order; different clients' run concurrently.
    """

    def __init__(self, client_manager=None, logger=False, serializer='default', json=None,
                 async_handlers=True, always_connect=False, namespaces=None,
                 max_workers=16, **kwargs):
        super().__init__(client_manager=client_manager, logger=logger, serializer=serializer,
                         json=json, async_handlers=async_handlers,
                         always_connect=always_connect, namespaces=namespaces, **kwargs)
        self._max_workers = max_workers
        self._stopped = threading.Event()

    def _make_pool(self):
        return track_pool(_native.Pool(self._on_native, self._max_workers, 'socketio-py'))

    # -- serving -----------------------------------------------------------

    def listen(self, host='127.0.0.1', port=5000, socketio_path='socket.io'):
        """Serves on ``host:port`` with the Rust HTTP server (port 0: any
        free port); returns the bound ``(host, port)`` once listening."""
        return self._get_native(socketio_path).listen(host, port)

    def wait(self):
        """Blocks until ``shutdown()``."""
        while not self._stopped.wait(0.5):
            pass

    def shutdown(self):
        """Stops serving and disconnects every client."""
        if self._pubsub is not None:
            self._pubsub._stop()
        native = self._native
        if native is not None:
            native.close()
            self._pool.close()
        self._stopped.set()

    # -- emitting -----------------------------------------------------------

    def emit(self, event, data=None, to=None, room=None, skip_sid=None, namespace=None,
             callback=None, ignore_queue=False):
        """Emits an event to one client (``to=sid``), a room, several, or
        everyone in the namespace; ``data`` as a tuple sends several
        arguments. With ``callback``, each client's acknowledgement calls
        it.

        With a ``RedisManager``, the other servers' clients are reached
        too (``ignore_queue=True``: this server's only)."""
        namespace = namespace or '/'
        room = to if to is not None else room
        if self._pubsub is None or ignore_queue:
            self._emit_local(event, data, namespace, room, skip_sid, callback)
            return
        payload, _ = self._pubsub_emit(event, data, namespace, room, skip_sid, callback)
        if payload is not None:
            self._pubsub._send(payload)

    def send(self, data, to=None, room=None, skip_sid=None, namespace=None, callback=None,
             ignore_queue=False):
        """Emits a ``message`` event."""
        self.emit('message', data=data, to=to, room=room, skip_sid=skip_sid,
                  namespace=namespace, callback=callback, ignore_queue=ignore_queue)

    def call(self, event, data=None, to=None, sid=None, namespace=None, timeout=60,
             ignore_queue=False):
        """Emits to one client and waits for its acknowledgement; returns
        its argument (a tuple for several). Raises ``TimeoutError``."""
        sid = to or sid
        namespace = namespace or '/'
        native = self._get_native()
        # python-socketio's None: no limit (here, the callback limit).
        limit = CALLBACK_TIMEOUT if timeout is None else timeout
        if self._pubsub is not None and not ignore_queue and not self._is_here(namespace, sid):
            return self._call_remote(event, data, sid, namespace, limit)
        pending = native.emit_with_ack(namespace, sid, event, pack(data), limit)
        out = pending.wait(limit + 5)
        if out is None:
            raise exceptions.TimeoutError()
        err, args = out
        if err is not None:
            if err[0] == 'disconnected':
                raise exceptions.DisconnectedError(err[1])
            raise exceptions.TimeoutError()
        return call_result(args)

    def _call_remote(self, event, data, sid, namespace, limit):
        # A client of another server: its answer comes back through Redis.
        answered = threading.Event()
        answers = []

        def callback(*args):
            answers.append(args)
            answered.set()

        payload, key = self._pubsub_emit(event, data, namespace, sid, None, callback)
        try:
            self._pubsub._send(payload)
            if not answered.wait(limit):
                raise exceptions.TimeoutError()
        finally:
            self._remote_acks.drop(key)
        return call_result(list(answers[0]))

    # -- rooms, sessions, disconnection -----------------------------------------

    def enter_room(self, sid, room, namespace=None):
        """Puts a client in a room (with a ``RedisManager``, a client of
        any server of the cluster)."""
        namespace = namespace or '/'
        if self._pubsub is not None and not self._is_here(namespace, sid):
            self._pubsub._send(self._pubsub._message('enter_room', sid=sid, room=room,
                                                     namespace=namespace))
            return
        self._get_native().enter_room(namespace, sid, room)

    def leave_room(self, sid, room, namespace=None):
        """Takes a client out of a room."""
        namespace = namespace or '/'
        if self._pubsub is not None and not self._is_here(namespace, sid):
            self._pubsub._send(self._pubsub._message('leave_room', sid=sid, room=room,
                                                     namespace=namespace))
            return
        self._get_native().leave_room(namespace, sid, room)

    def close_room(self, room, namespace=None):
        """Takes every client out of a room (with a ``RedisManager``, on
        every server)."""
        namespace = namespace or '/'
        self._get_native().close_room(namespace, room)
        if self._pubsub is not None:
            self._pubsub._send(self._pubsub._message('close_room', room=room,
                                                     namespace=namespace))

    def get_session(self, sid, namespace=None):
        """The session dict of a client (kept until it disconnects)."""
        return self._session(sid, namespace)

    def save_session(self, sid, session, namespace=None):
        """Replaces the session dict of a client."""
        self._save(sid, session, namespace)

    def session(self, sid, namespace=None):
        """``with sio.session(sid) as session:`` edits a client's session."""
        server = self

        class _Ctx:
            def __enter__(self):
                self.session = server.get_session(sid, namespace=namespace)
                return self.session

            def __exit__(self, *exc):
                server.save_session(sid, self.session, namespace=namespace)

        return _Ctx()

    def disconnect(self, sid, namespace=None, ignore_queue=False):
        """Disconnects a client from a namespace (with a ``RedisManager``,
        a client of any server, unless ``ignore_queue``)."""
        namespace = namespace or '/'
        if self._pubsub is not None and not ignore_queue and \
                not self._is_here(namespace, sid):
            self._pubsub._send(self._pubsub._message('disconnect', sid=sid,
                                                     namespace=namespace))
            return
        self._get_native().disconnect(namespace, sid)

    # -- python-socketio's pub/sub protocol: the listener's side -------------------

    def _pubsub_ack(self, sid, callback_id, args):
        # On the listener thread, as python-socketio calls it.
        callback = self._take_remote_ack(sid, callback_id)
        if callback is not None:
            try:
                callback(*args)
            except Exception:
                self.logger.exception('socketio_rs: error in acknowledgement callback')

    def _pubsub_returner(self, host_id, sid, namespace, callback_id):
        # A client here acknowledged another server's emit: the answer goes
        # back to that server.
        manager = self._pubsub

        def answer(*args):
            manager._send(manager._callback_payload(host_id, sid, namespace, callback_id,
                                                    args))

        return answer

    # -- tasks -------------------------------------------------------------------

    def start_background_task(self, target, *args, **kwargs):
        """Runs ``target(*args, **kwargs)`` on a daemon thread; returns the
        thread."""
        t = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        t.start()
        return t

    def sleep(self, seconds=0):
        """Sleeps; for code shared with the async server."""
        time.sleep(seconds)

    # -- dispatch (worker threads) -------------------------------------------------

    def _on_native(self, ev):
        kind = ev[0]
        try:
            if kind == 'event':
                self._handle_event(*ev[1:])
            elif kind == 'connect':
                self._handle_connect(*ev[1:])
            elif kind == 'disconnect':
                self._handle_disconnect(*ev[1:])
            elif kind == 'done':
                self._handle_done(*ev[1:])
        except Exception:
            self.logger.exception('socketio_rs: error handling %s', kind)

    def _handle_connect(self, namespace, sid, handshake, reply):
        environ, auth = self._environ_for(namespace, sid, handshake)
        try:
            r = self._call_connect(namespace, sid, environ, auth)
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

    def _call_connect(self, namespace, sid, environ, auth):
        # As python-socketio: handlers may or may not take `auth`.
        if auth:
            return self._trigger_event('connect', namespace, sid, environ, auth)
        try:
            return self._trigger_event('connect', namespace, sid, environ, None)
        except TypeError as exc:
            try:
                return self._trigger_event('connect', namespace, sid, environ)
            except TypeError:
                raise exc from None

    def _handle_event(self, namespace, sid, event, args, ack):
        try:
            r = self._trigger_event(event, namespace, sid, *args)
        except Exception:
            self.logger.exception('socketio_rs: error in handler of %r', event)
            return
        if ack is not None and r is not NOT_HANDLED:
            ack.send(unpack_reply(r))

    def _handle_disconnect(self, namespace, sid, reason):
        try:
            self._trigger_event('disconnect', namespace, sid, self._reason(reason))
        except Exception:
            self.logger.exception('socketio_rs: error in disconnect handler')
        finally:
            self._forget(namespace, sid)

    def _handle_done(self, token, outcome):
        callback = self._callbacks.pop(token, None)
        err, args = outcome
        if callback is not None and err is None:
            try:
                callback(*args)
            except Exception:
                self.logger.exception('socketio_rs: error in acknowledgement callback')

    def _trigger_event(self, event, namespace, *args):
        handler, args = self._get_event_handler(event, namespace, args)
        if handler:
            if event == 'disconnect' and not accepts(handler, len(args)):
                return handler(*args[:-1])
            return handler(*args)
        handler, args = self._get_namespace_handler(namespace, args)
        if handler:
            return handler.trigger_event(event, *args)
        return NOT_HANDLED
