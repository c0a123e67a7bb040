"""``AsyncSimpleClient``: python-socketio's ``socketio.AsyncSimpleClient``,
``SimpleClient`` for asyncio, built on ``AsyncClient``."""

import asyncio

from . import exceptions
from .async_client import AsyncClient
from .simple_client import FINAL_EVENT, RETRY_PAUSE, ends_for_good, is_final_event


class _AsyncClient(AsyncClient):
    """An ``AsyncClient`` that also triggers ``__disconnect_final`` in a
    namespace once its connection ended for good, as python-socketio's
    does."""

    reserved_events = AsyncClient.reserved_events + (FINAL_EVENT,)

    def _dispatch(self, ev):
        if not is_final_event(ev):
            super()._dispatch(ev)

    async def _handle(self, ev):
        try:
            await super()._handle(ev)
        finally:
            if ends_for_good(self, ev):
                try:
                    await self._trigger_event(FINAL_EVENT, ev[1])
                except Exception:
                    self.logger.exception('socketio_rs: error handling %s', FINAL_EVENT)


async def _wait(event, deadline):
    """Waits for an ``asyncio.Event`` until the loop time ``deadline``
    (``None``: no limit); False if it was not set in time."""
    if deadline is None:
        await event.wait()
        return True
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        return event.is_set()
    try:
        await asyncio.wait_for(event.wait(), remaining)
    except asyncio.TimeoutError:
        return False
    return True


class AsyncSimpleClient:
    """``SimpleClient`` for asyncio: the same methods, as coroutines. The
    constructor's arguments go to the underlying ``AsyncClient``."""

    client_class = _AsyncClient

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
        self.connected_event = asyncio.Event()
        self.input_event = asyncio.Event()
        self.input_buffer = []

    async def connect(self, url, headers={}, auth=None, transports=None,  # noqa: B006
                      namespace='/', socketio_path='socket.io', wait_timeout=5):
        """Connects to the server at ``url``, in ``namespace``, as
        ``SimpleClient.connect``."""
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
        await client.connect(url, headers=headers, auth=auth, transports=transports,
                             namespaces=[namespace], socketio_path=socketio_path,
                             wait_timeout=wait_timeout)

    def _listen(self, client, namespace):
        """Registers the handlers that feed this object, once per client
        and namespace (plain functions: they run on the loop, each at
        once); after ``disconnect`` they do nothing until the next
        ``connect``."""

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

    async def _wait_connected(self):
        await self.connected_event.wait()
        client = self.client
        if not self.connected or client is None:
            raise exceptions.DisconnectedError()
        return client

    async def emit(self, event, data=None):
        """Emits an event, as ``SimpleClient.emit``."""
        while True:
            client = await self._wait_connected()
            try:
                return await client.emit(event, data, namespace=self.namespace)
            except exceptions.SocketIOError:
                await asyncio.sleep(RETRY_PAUSE)

    async def call(self, event, data=None, timeout=60):
        """Emits an event and returns the acknowledgement, as
        ``SimpleClient.call``."""
        while True:
            client = await self._wait_connected()
            try:
                return await client.call(event, data, namespace=self.namespace,
                                         timeout=timeout)
            except (exceptions.TimeoutError, exceptions.DisconnectedError):
                # Sent, and the answer is lost: not sent a second time.
                raise
            except exceptions.SocketIOError:
                await asyncio.sleep(RETRY_PAUSE)

    async def receive(self, timeout=None):
        """The next event from the server as ``[event, *args]``, as
        ``SimpleClient.receive``."""
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while True:
            if self.input_buffer:
                return self.input_buffer.pop(0)
            # While this task waits, an event and then the end of the
            # connection may come: the buffer is looked at again before
            # anything is raised.
            connected = await _wait(self.connected_event, deadline)
            if self.input_buffer:
                continue
            if not connected:
                raise exceptions.TimeoutError()
            if not self.connected:
                raise exceptions.DisconnectedError()
            if not await _wait(self.input_event, deadline) and not self.input_buffer:
                raise exceptions.TimeoutError()
            self.input_event.clear()

    async def disconnect(self):
        """Disconnects, as ``SimpleClient.disconnect``."""
        if self.connected:
            client = self.client
            if client is not None:
                await client.disconnect()
            self.client = None
            self._ended()

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        await self.disconnect()
