"""``Client``: python-socketio's ``socketio.Client``, handlers on a worker
thread."""

import threading
import time

from . import _native, exceptions
from ._base import (NOT_HANDLED, accepts, call_result, next_token, pack, track_pool,
                    unpack_reply)
from ._base_client import BaseClient


_in_handler = threading.local()


class _Outcome:
    def __init__(self):
        self.event = threading.Event()
        self.value = None


class Client(BaseClient):
    """A Socket.IO client; arguments as python-socketio's. Each namespace
    gets a connection of its own; handlers run on a worker thread, in the
    order events arrive."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._outcomes = {}

    def _make_pool(self):
        return track_pool(_native.Pool(self._on_native, 1, 'socketio-client'))

    def connect(self, url, headers={}, auth=None, transports=None, namespaces=None,  # noqa: B006
                socketio_path='socket.io', wait=True, wait_timeout=1, retry=False):
        """Connects to the server at ``url``: every namespace with handlers
        (or those given). Raises ``ConnectionError`` when one fails."""
        self._prepare(url, headers, auth, transports, namespaces, socketio_path)
        # The outcome comes through the worker thread, after the
        # `connect` / `connect_error` handlers, as with python-socketio.
        waits = []
        for ns, n in self._natives.items():
            token = next_token()
            waiter = self._outcomes[token] = _Outcome()
            n.connect(token)
            waits.append((ns, token, waiter))
        if not wait:
            return
        deadline = time.monotonic() + self.request_timeout + wait_timeout
        results = []
        for ns, token, waiter in waits:
            if waiter.event.wait(max(0.0, deadline - time.monotonic())):
                results.append((ns, waiter.value[0]))
            else:
                results.append((ns, ('timeout', 'connection timed out', None)))
            self._outcomes.pop(token, None)
        exc = self._failure(results)
        if exc is not None:
            if not retry:
                self.disconnect()
            raise exc

    def wait(self):
        """Blocks until the connection ends for good (a disconnect, or the
        last reconnection attempt failed)."""
        while not self._closed.wait(0.5):
            pass

    def emit(self, event, data=None, namespace=None, callback=None):
        """Emits an event; ``callback`` gets the server's acknowledgement."""
        native = self._native(namespace)
        if callback is None:
            native.emit(event, pack(data))
            return
        token = next_token()
        self._callbacks[token] = callback
        native.emit_with_ack(event, pack(data), None, token)

    def send(self, data, namespace=None, callback=None):
        """Emits a ``message`` event."""
        self.emit('message', data=data, namespace=namespace, callback=callback)

    def call(self, event, data=None, namespace=None, timeout=60):
        """Emits and waits for the acknowledgement; raises
        ``TimeoutError``."""
        native = self._native(namespace)
        pending = native.emit_with_ack(event, pack(data), timeout)
        out = pending.wait(None if timeout is None else timeout + 5)
        if out is None:
            raise exceptions.TimeoutError()
        err, args = out
        if err is not None:
            if err[0] == 'disconnected':
                raise exceptions.DisconnectedError(err[1])
            raise exceptions.TimeoutError()
        return call_result(args)

    def disconnect(self):
        """Disconnects every namespace; no reconnection follows. Outside a
        handler, returns once the ``disconnect`` handlers have run."""
        natives = list(self._natives.values())
        connected = [n for n in natives if n.connected()]
        for n in natives:
            n.disconnect()
        if not connected:
            self._closed.set()
        elif not getattr(_in_handler, 'active', False):
            # The handlers run on the worker thread, which then sets it.
            if not self._closed.wait(5):
                self._closed.set()

    def shutdown(self):
        """Same as ``disconnect``."""
        self.disconnect()

    def start_background_task(self, target, *args, **kwargs):
        """Runs ``target`` on a daemon thread; returns the thread."""
        t = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        t.start()
        return t

    def sleep(self, seconds=0):
        """``time.sleep``."""
        time.sleep(seconds)

    # -- dispatch (worker thread) ------------------------------------------

    def _on_native(self, ev):
        kind = ev[0]
        _in_handler.active = True
        try:
            if kind == 'event':
                _, ns, event, args, ack = ev
                r = self._trigger_event(event, ns, *args)
                if ack is not None and r is not NOT_HANDLED:
                    ack.send(unpack_reply(r))
            elif kind == 'connect':
                self._trigger_event('connect', ev[1])
            elif kind == 'disconnect':
                _, ns, reason = ev
                self._trigger_event('disconnect', ns, self._reason(reason))
                if self._final(reason) and not self.connected:
                    self._closed.set()
            elif kind == 'connect_error':
                _, ns, message, data = ev
                payload = {'message': message}
                if data is not None:
                    payload['data'] = data
                self._trigger_event('connect_error', ns, payload)
            elif kind == 'reconnect':
                if ev[2] == 'failed':
                    self._closed.set()
            elif kind == 'done':
                _, token, (err, args) = ev
                outcome = self._outcomes.pop(token, None)
                if outcome is not None:
                    outcome.value = (err, args)
                    outcome.event.set()
                    return
                callback = self._callbacks.pop(token, None)
                if callback is not None and err is None:
                    callback(*args)
        except Exception:
            self.logger.exception('socketio_rs: error handling %s', kind)
        finally:
            _in_handler.active = False

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
