"""``SimpleClient``: python-socketio's ``socketio.SimpleClient``, a client
driven by calls (``emit``, ``call``, ``receive``) rather than by event
handlers, built on ``Client``."""

import threading
import time

from . import exceptions
from .client import Client

#: The event python-socketio's clients trigger when a namespace's
#: connection ends for good (no reconnection follows).
FINAL_EVENT = '__disconnect_final'

#: When the client refuses to emit while this object still counts the
#: connection up, the worker is about to report its drop: the retry loops
#: of ``emit`` and ``call`` wait this long between attempts rather than spin.
RETRY_PAUSE = 0.05

#: The native reasons after which the native client does not reconnect.
FINAL_REASONS = ('io server disconnect', 'io client disconnect', 'forced close')


def ends_for_good(client, ev):
    """Whether this native event ends a namespace's connection for good:
    a disconnect no reconnection follows, or the last reconnection attempt
    failed."""
    kind = ev[0]
    if kind == 'disconnect':
        return not client.reconnection or ev[2] in FINAL_REASONS
    return kind == 'reconnect' and ev[2] == 'failed'


def is_final_event(ev):
    """A server event named as the final-disconnect one: never dispatched,
    so that no peer can end the session."""
    return ev[0] == 'event' and ev[2] == FINAL_EVENT


class _Client(Client):
    """A ``Client`` that also triggers ``__disconnect_final`` in a
    namespace once its connection ended for good, as python-socketio's
    does."""

    reserved_events = Client.reserved_events + (FINAL_EVENT,)

    def _on_native(self, ev):
        if is_final_event(ev):
            return
        try:
            super()._on_native(ev)
        finally:
            if ends_for_good(self, ev):
                try:
                    self._trigger_event(FINAL_EVENT, ev[1])
                except Exception:
                    self.logger.exception('socketio_rs: error handling %s', FINAL_EVENT)


def _remaining(deadline):
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


class SimpleClient:
    """A Socket.IO client without event handlers: ``receive`` returns the
    events the server sent, in order.

    The constructor's arguments go to the underlying ``Client``. The
    connection reconnects as that client does; ``emit``, ``call`` and
    ``receive`` wait while it is reconnecting and raise
    ``DisconnectedError`` once it ended for good.
    """

    client_class = _Client

    def __init__(self, *args, **kwargs):
        self.client_args = args
        self.client_kwargs = kwargs
        self.client = None
        self.namespace = '/'
        self.connected = False
        # The underlying client, kept from one connection to the next (its
        # handlers and worker serve them all), and the namespaces it has
        # handlers for.
        self._client = None
        self._listening = set()
        # Set while connected, and once the connection ended for good;
        # clear while reconnecting.
        self.connected_event = threading.Event()
        self.input_event = threading.Event()
        self.input_buffer = []

    def connect(self, url, headers={}, auth=None, transports=None,  # noqa: B006
                namespace='/', socketio_path='socket.io', wait_timeout=5):
        """Connects to the server at ``url``, in ``namespace``.

        ``headers``, ``auth``, ``transports``, ``socketio_path`` and
        ``wait_timeout`` are ``Client.connect``'s. Raises ``RuntimeError``
        if already connected, ``ConnectionError`` if the connection fails.
        """
        if self.connected:
            raise RuntimeError('Already connected')
        self.namespace = namespace
        self.input_buffer = []
        self.input_event.clear()
        client = self._client
        if client is None:
            client = self.client_class(*self.client_args, **self.client_kwargs)
            self._client = client
            self._listening = set()
        self.client = client
        if namespace not in self._listening:
            self._listen(client, namespace)
            self._listening.add(namespace)
        client.connect(url, headers=headers, auth=auth, transports=transports,
                       namespaces=[namespace], socketio_path=socketio_path,
                       wait_timeout=wait_timeout)

    def _listen(self, client, namespace):
        """Registers the handlers that feed this object, once per client
        and namespace; after ``disconnect`` (no current client) they do
        nothing until the next ``connect``."""

        def current():
            return self.client is client

        @client.event(namespace=namespace)
        def connect():
            if current():
                self.connected = True
                self.connected_event.set()

        @client.event(namespace=namespace)
        def disconnect(reason=None):
            if current():
                self.connected_event.clear()

        @client.event(namespace=namespace)
        def __disconnect_final():
            if current():
                self._ended()

        @client.on('*', namespace=namespace)
        def on_event(event, *args):
            if current():
                self.input_buffer.append([event, *args])
                self.input_event.set()

    def _ended(self):
        self.connected = False
        self.connected_event.set()
        # A receive() waiting for input wakes up and raises.
        self.input_event.set()

    @property
    def sid(self):
        """The session id in the namespace; a reconnection changes it."""
        return self.client.get_sid(self.namespace) if self.client else None

    @property
    def transport(self):
        """``'websocket'`` or ``'polling'`` (``''`` before connecting)."""
        return self.client.transport() if self.client else ''

    def _wait_connected(self):
        """The client, once connected; raises ``DisconnectedError`` if the
        connection ended."""
        self.connected_event.wait()
        client = self.client
        if not self.connected or client is None:
            raise exceptions.DisconnectedError()
        return client

    def emit(self, event, data=None):
        """Emits an event (a tuple as ``data`` sends several arguments);
        waits while reconnecting. Use ``call`` to know it was received."""
        while True:
            client = self._wait_connected()
            try:
                return client.emit(event, data, namespace=self.namespace)
            except exceptions.SocketIOError:
                time.sleep(RETRY_PAUSE)

    def call(self, event, data=None, timeout=60):
        """Emits an event and returns the server's acknowledgement (several
        arguments as a tuple); waits while reconnecting. Raises
        ``TimeoutError`` when none comes within ``timeout`` seconds and
        ``DisconnectedError`` when the connection drops before."""
        while True:
            client = self._wait_connected()
            try:
                return client.call(event, data, namespace=self.namespace, timeout=timeout)
            except (exceptions.TimeoutError, exceptions.DisconnectedError):
                # Sent, and the answer is lost: not sent a second time.
                raise
            except exceptions.SocketIOError:
                time.sleep(RETRY_PAUSE)

    def receive(self, timeout=None):
        """The next event from the server, as ``[event, *args]``; waits at
        most ``timeout`` seconds (``None``: no limit) and raises
        ``TimeoutError`` then. Events that arrived before the connection
        ended are still returned; then ``DisconnectedError`` is raised."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self.input_buffer.pop(0)
            except IndexError:
                pass
            # While this thread waits, an event and then the end of the
            # connection may come: the buffer is looked at again before
            # anything is raised.
            connected = self.connected_event.wait(_remaining(deadline))
            if self.input_buffer:
                continue
            if not connected:
                raise exceptions.TimeoutError()
            if not self.connected:
                raise exceptions.DisconnectedError()
            if not self.input_event.wait(_remaining(deadline)) and not self.input_buffer:
                raise exceptions.TimeoutError()
            self.input_event.clear()

    def disconnect(self):
        """Disconnects; ``emit``, ``call`` and ``receive`` then raise
        ``DisconnectedError``. Does nothing if not connected."""
        if self.connected:
            client = self.client
            if client is not None:
                client.disconnect()
            self.client = None
            self._ended()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.disconnect()
