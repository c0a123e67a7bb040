"""``Client``: python-socketio's ``socketio.Client``, handlers on a worker
thread."""

import signal
import threading
import time
import weakref

from . import _native, exceptions
from ._base import (NOT_HANDLED, accepts, call_result, next_token, pack, track_pool,
                    unpack_reply)
from ._base_client import BaseClient, weak_sink


_in_handler = threading.local()

# python-engineio's SIGINT handling (``handle_sigint=True``, the default):
# Ctrl-C disconnects the connected clients, so that their ``disconnect``
# handlers run (reason ``'client disconnect'``), then calls the handler
# that was there before (KeyboardInterrupt). Installed once, from the main
# thread, by the first client made with it.
_clients = weakref.WeakSet()
_sigint_installed = False
_previous_sigint = None


def _on_sigint(sig, frame):
    for c in list(_clients):
        if c.connected or c._reconnecting:
            try:
                c.disconnect()
            except Exception:
                c.logger.exception('socketio_rs: disconnecting on SIGINT')
    if callable(_previous_sigint):
        return _previous_sigint(sig, frame)
    return signal.default_int_handler(sig, frame)


def _install_sigint():
    global _sigint_installed, _previous_sigint
    if _sigint_installed or threading.current_thread() is not threading.main_thread():
        return
    _previous_sigint = signal.signal(signal.SIGINT, _on_sigint)
    _sigint_installed = True


class _Outcome:
    def __init__(self):
        self.event = threading.Event()
        self.value = None


class Client(BaseClient):
    """A Socket.IO client; arguments as python-socketio's. Its namespaces
    share one connection; handlers run on a worker thread, in the order
    events arrive."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._outcomes = {}
        self._reconnect_lock = threading.Lock()
        self._reconnect_abort = threading.Event()
        self._reconnect_thread = None
        _clients.add(self)
        if self.handle_sigint:
            _install_sigint()

    def _make_pool(self):
        pool = track_pool(_native.Pool(weak_sink(self, '_on_native'), 1, 'socketio-client'))
        # A client dropped while connected takes its worker with it.
        weakref.finalize(self, pool.close)
        return pool

    def _pool_active(self):
        self._pool.park(False)

    def _finish(self):
        """The connection ended for good: ``wait`` returns, and the worker
        thread exits once idle (an event after that starts one again)."""
        self._closed.set()
        if self._pool is not None:
            self._pool.park(True)

    def connect(self, url, headers={}, auth=None, transports=None, namespaces=None,  # noqa: B006
                socketio_path='socket.io', wait=True, wait_timeout=1, retry=False):
        """Connects to the server at ``url``: every namespace with handlers
        (or those given), all over one connection. Raises
        ``ConnectionError`` when one fails. ``url``, ``headers`` and
        ``auth`` may be callables, called on each connection attempt,
        reconnections included."""
        if self.connected:
            raise exceptions.ConnectionError('Already connected')
        self._stop_reconnect()
        self._remember(url, headers, auth, transports, namespaces, socketio_path)
        self._reconnect_abort.clear()
        exc = self._attempt(wait, wait_timeout)
        if exc is not None:
            if not retry:
                self.disconnect()
            elif self._python_reconnects:
                self._start_reconnect()
            raise exc

    @staticmethod
    def _real(value):
        return value() if callable(value) else value

    def _attempt(self, wait, wait_timeout):
        """One connection: new native clients, connected; with ``wait``,
        returns once every namespace answered (None, or the
        ConnectionError), else once the connection is up."""
        url = self._real(self.connection_url)
        headers = self._real(self.connection_headers)
        auth = self._real(self.connection_auth)
        self._build(url, headers, auth)
        # The outcome comes through the worker thread, after the
        # `connect` / `connect_error` handlers, as with python-socketio.
        waits = []
        for ns, n in list(self._natives.items()):
            token = next_token()
            waiter = self._outcomes[token] = _Outcome()
            n.connect(token)
            waits.append((ns, token, waiter))
        if not wait:
            # As python-socketio: back once the connection is up (or failed).
            self._settle(waits)
            return None
        deadline = time.monotonic() + self.request_timeout + wait_timeout
        results = []
        for ns, token, waiter in waits:
            while not waiter.event.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline or self._reconnect_abort.is_set():
                    break
            if waiter.event.is_set():
                results.append((ns, waiter.value[0]))
            else:
                results.append((ns, ('timeout', 'connection timed out', None)))
            self._outcomes.pop(token, None)
        exc = self._failure(results)
        if exc is None:
            self._settle(waits)
        return exc

    def _settle(self, waits):
        """Waits (at most ``request_timeout``) until the connection is on
        its final transport, or failed."""
        deadline = time.monotonic() + self.request_timeout
        while not self._upgrade_settled() and time.monotonic() < deadline:
            if self._reconnect_abort.is_set() or any(
                    w.event.is_set() and w.value[0] is not None for _, _, w in waits):
                return
            time.sleep(0.01)

    # -- reconnection from Python (callable url, headers or auth) ---------------

    def _start_reconnect(self):
        with self._reconnect_lock:
            if self._reconnecting or self._reconnect_abort.is_set():
                return
            self._reconnecting = True
            t = threading.Thread(target=self._reconnect_loop, name='socketio-rs-reconnect',
                                 daemon=True)
            self._reconnect_thread = t
        t.start()

    def _stop_reconnect(self):
        """Ends the reconnection loop, waiting for it unless called from a
        handler (the loop may be waiting for the worker thread)."""
        with self._reconnect_lock:
            t = self._reconnect_thread
            if self._reconnecting:
                self._reconnect_abort.set()
        if (t is not None and t is not threading.current_thread()
                and not getattr(_in_handler, 'active', False)):
            t.join(self.request_timeout + 5)

    def _reconnect_loop(self):
        attempts = 0
        for delay in self._delays():
            if self._reconnect_abort.wait(delay):
                break
            attempts += 1
            try:
                exc = self._attempt(True, 1)
            except Exception as e:
                self.logger.exception('socketio_rs: reconnection attempt failed')
                exc = e
            if self._reconnect_abort.is_set():
                # disconnect() was called meanwhile, from a handler.
                for n in list(self._natives.values()):
                    n.disconnect()
                break
            if exc is None:
                with self._reconnect_lock:
                    if self.connected:
                        self._reconnecting = False
                        self._reconnect_thread = None
                        return
                continue  # lost again already: try again
            for n in list(self._natives.values()):
                n.disconnect()
            if self._gave_up(attempts):
                break
        with self._reconnect_lock:
            aborted = self._reconnect_abort.is_set()
            self._reconnecting = False
            self._reconnect_thread = None
        if not aborted:
            self._finish()

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
        self._stop_reconnect()
        natives = list(self._natives.values())
        connected = [n for n in natives if n.connected()]
        for n in natives:
            n.disconnect()
        if not connected:
            self._finish()
        elif not getattr(_in_handler, 'active', False):
            # The handlers run on the worker thread, which then finishes.
            if not self._closed.wait(5):
                self._finish()

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
                if self.connected or self._reconnecting:
                    pass
                elif self._final(reason) or self._reconnect_abort.is_set():
                    self._finish()
                elif self._python_reconnects:
                    self._start_reconnect()
            elif kind == 'connect_error':
                _, ns, message, data = ev
                payload = {'message': message}
                if data is not None:
                    payload['data'] = data
                self._trigger_event('connect_error', ns, payload)
            elif kind == 'reconnect':
                if ev[2] == 'failed':
                    self._finish()
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
