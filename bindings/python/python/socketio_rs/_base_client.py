"""What ``Client`` and ``AsyncClient`` share: options, namespaces, one
native client per namespace, all on one connection."""

import random
import threading
import weakref

from . import _native, exceptions
from ._base import CLIENT_REASONS, Handlers
from ._base_server import check_json, note_engineio_logger


def check_client_options(kwargs, logger):
    """python-engineio's client options socketio_rs has no use for are
    accepted at their defaults only; anything else raises."""
    for k, v in kwargs.items():
        if k == 'handle_sigint':
            continue  # a parameter of BaseClient: see Client / AsyncClient
        if k == 'timestamp_requests':
            if v is not True:
                raise ValueError('timestamp_requests=False is not supported by socketio_rs')
            continue
        if k in ('http_session', 'websocket_extra_options'):
            if v:
                raise ValueError(f'{k} is not supported by socketio_rs: the connections '
                                 'are made in Rust')
            continue
        if k == 'engineio_logger':
            note_engineio_logger(v, logger)
            continue
        raise TypeError(f'socketio_rs: unexpected keyword argument {k!r}')


def weak_sink(obj, name):
    """A sink for the native pool that calls ``obj.<name>(event)`` without
    keeping ``obj`` alive: the pool (held by ``obj``) must not hold it back,
    or a forgotten client would never be collected, nor its connection and
    worker released."""
    ref = weakref.ref(obj)

    def sink(ev):
        o = ref()
        if o is not None:
            getattr(o, name)(ev)

    return sink


class BaseClient(Handlers):
    """Handlers and native clients."""

    reserved_events = ('connect', 'connect_error', 'disconnect')

    def __init__(self, reconnection=True, reconnection_attempts=0, reconnection_delay=1,
                 reconnection_delay_max=5, randomization_factor=0.5, logger=False,
                 serializer='default', json=None, handle_sigint=True, **kwargs):
        super().__init__(logger)
        self.reconnection = reconnection
        self.reconnection_attempts = reconnection_attempts
        self.reconnection_delay = reconnection_delay
        self.reconnection_delay_max = reconnection_delay_max
        self.randomization_factor = randomization_factor
        self.handle_sigint = handle_sigint
        self.request_timeout = kwargs.pop('request_timeout', 5)
        self.ssl_verify = kwargs.pop('ssl_verify', True)
        self.msgpack = serializer == 'msgpack'
        if serializer not in ('default', 'msgpack', None):
            raise ValueError(f'serializer={serializer!r} is not supported by socketio_rs '
                             "(supported: 'default', 'msgpack')")
        check_json(json)
        check_client_options(kwargs, self.logger)
        self.connection_url = None
        self.connection_headers = None
        self.connection_auth = None
        self.connection_transports = None
        self.connection_namespaces = []
        self.socketio_path = 'socket.io'
        self._natives = {}
        self._pool = None
        self._callbacks = {}
        self._closed = threading.Event()
        self._closed.set()
        self._last_transport = None
        # Reconnection run from Python, when url, headers or auth is a
        # callable: the reconnection loop is running.
        self._reconnecting = False

    # -- state ---------------------------------------------------------------

    @property
    def connected(self):
        """True while at least one namespace is connected."""
        return any(n.connected() for n in list(self._natives.values()))

    @property
    def namespaces(self):
        """The connected namespaces and their sids."""
        return {ns: n.sid() for ns, n in list(self._natives.items()) if n.connected()}

    @property
    def sid(self):
        """The sid of the ``/`` namespace, while connected."""
        return self.get_sid('/')

    def get_sid(self, namespace=None):
        """The sid of a namespace, while connected."""
        n = self._natives.get(namespace or '/')
        return n.sid() if n is not None else None

    def transport(self):
        """The transport of the connection: ``'polling'``, or
        ``'websocket'`` once upgraded (the last one used after it closed,
        ``None`` before connecting)."""
        for n in list(self._natives.values())[:1]:
            t = n.transport()
            if t is not None:
                self._last_transport = t
        return self._last_transport

    # -- connecting ------------------------------------------------------------

    def _remember(self, url, headers, auth, transports, namespaces, socketio_path):
        """Keeps ``connect``'s arguments (callables as given: they are called
        again on each attempt)."""
        if self.connected:
            raise exceptions.ConnectionError('Already connected')
        if isinstance(transports, str):
            transports = [transports]
        self.connection_url = url
        self.connection_headers = headers
        self.connection_auth = auth
        self.connection_transports = transports
        self.socketio_path = socketio_path
        if namespaces is None:
            namespaces = self._namespaces() or ['/']
        elif isinstance(namespaces, str):
            namespaces = [namespaces]
        self.connection_namespaces = list(dict.fromkeys(namespaces))

    @property
    def _python_reconnects(self):
        """Whether this client reconnects from Python, as python-socketio
        does (each attempt calls ``url``, ``headers`` and ``auth`` again when
        they are callables), rather than in the native connection."""
        return bool(self.reconnection) and any(
            callable(v) for v in (self.connection_url, self.connection_headers,
                                  self.connection_auth))

    def _build(self, url, headers, auth):
        """New native clients for the remembered namespaces: the first one
        makes the connection, the others are its siblings on it. The
        previous ones are disconnected."""
        if self._pool is None:
            self._pool = self._make_pool()
        self._pool_active()
        old, self._natives = self._natives, {}
        for n in old.values():
            n.disconnect()
        opts = {
            'auth': auth,
            'headers': list((headers or {}).items()),
            'transports': self.connection_transports,
            'path': '/' + self.socketio_path.strip('/'),
            'reconnection': bool(self.reconnection) and not self._python_reconnects,
            'reconnection_attempts': self.reconnection_attempts,
            'reconnection_delay': self.reconnection_delay,
            'reconnection_delay_max': self.reconnection_delay_max,
            'randomization_factor': self.randomization_factor,
            'timeout': self.request_timeout,
            'msgpack': self.msgpack,
            'ssl_verify': self.ssl_verify,
        }
        first = None
        natives = {}
        for ns in self.connection_namespaces:
            if first is None:
                native = first = _native.NativeClient(self._pool, url,
                                                      dict(opts, namespace=ns))
            else:
                native = first.sibling(ns, auth)
            names, catch_all = self._event_names(ns)
            native.set_events(names, catch_all)
            natives[ns] = native
        self._natives = natives
        self._closed.clear()

    def _pool_active(self):
        """Hook: the pool is about to be used (again)."""

    def _upgrade_settled(self):
        """True once the connection is on the transport it keeps: WebSocket,
        or polling when no upgrade will come (python-engineio's ``connect``
        returns after its upgrade, so ``transport()`` is final then)."""
        natives = list(self._natives.values())
        if not natives:
            return True
        first = natives[0]
        t = first.transport()
        if t is None:
            return False
        if t == 'websocket':
            return True
        allowed = self.connection_transports
        return not ((allowed is None or 'websocket' in allowed)
                    and 'websocket' in first.upgrades())

    def _handlers_changed(self, namespace):
        targets = self._natives.items() if namespace == '*' else \
            [(namespace, self._natives.get(namespace))]
        for ns, native in targets:
            if native is not None:
                names, catch_all = self._event_names(ns)
                native.set_events(names, catch_all)

    def _native(self, namespace):
        namespace = namespace or '/'
        native = self._natives.get(namespace)
        if native is None or not native.connected():
            raise exceptions.BadNamespaceError(namespace + ' is not a connected namespace.')
        return native

    @staticmethod
    def _failure(results):
        """A ConnectionError naming the failed namespaces, or None."""
        failed = [(ns, err) for ns, err in results if err is not None]
        if not failed:
            return None
        detail = '; '.join(f'{ns}: {err[1]}' for ns, err in failed)
        exc = exceptions.ConnectionError(
            'One or more namespaces failed to connect: '
            + ', '.join(ns for ns, _ in failed) + f' ({detail})')
        exc.error_args = {'message': failed[0][1][1], 'data': failed[0][1][2]}
        return exc

    def _delays(self):
        """python-socketio's reconnection delays: doubling from
        ``reconnection_delay`` up to ``reconnection_delay_max``, each moved by
        up to ``randomization_factor`` seconds either way."""
        delay = self.reconnection_delay
        while True:
            d = min(delay, self.reconnection_delay_max)
            d += self.randomization_factor * (2 * random.random() - 1)
            yield max(0.0, d)
            delay *= 2

    def _gave_up(self, attempts):
        return bool(self.reconnection_attempts) and attempts >= self.reconnection_attempts

    @staticmethod
    def _reason(reason):
        return CLIENT_REASONS.get(reason, reason)

    def _final(self, reason):
        """Whether a disconnect with this reason ends the connection for
        good (no reconnection follows)."""
        return (not self.reconnection) or reason in ('io server disconnect',
                                                      'io client disconnect')
