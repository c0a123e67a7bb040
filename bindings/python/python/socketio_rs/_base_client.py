"""What ``Client`` and ``AsyncClient`` share: options, namespaces, one
native client per namespace."""

import threading

from . import _native, exceptions
from ._base import CLIENT_REASONS, Handlers
from ._base_server import check_json


def check_client_options(kwargs, logger):
    """python-engineio's client options socketio_rs has no use for are
    accepted at their defaults only; anything else raises."""
    for k, v in kwargs.items():
        if k == 'handle_sigint':
            continue  # the native threads never take SIGINT from Python
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
            if v:
                logger.info('socketio_rs: engineio_logger: the engine logs through Rust '
                            'tracing (RUST_LOG), not through Python logging')
            continue
        raise TypeError(f'socketio_rs: unexpected keyword argument {k!r}')


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
        """The transport asked for first: ``'websocket'`` unless only
        polling was allowed (the Rust client upgrades on its own)."""
        t = self.connection_transports
        if t and 'websocket' not in t:
            return 'polling'
        return 'websocket'

    # -- connecting ------------------------------------------------------------

    def _prepare(self, url, headers, auth, transports, namespaces, socketio_path):
        if self.connected:
            raise exceptions.ConnectionError('Already connected')
        if callable(url):
            url = url()
        if callable(headers):
            headers = headers()
        if callable(auth):
            auth = auth()
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
        self.connection_namespaces = list(namespaces)
        if self._pool is None:
            self._pool = self._make_pool()
        for n in self._natives.values():
            n.disconnect()
        self._natives = {}
        for ns in self.connection_namespaces:
            opts = {
                'namespace': ns,
                'auth': auth,
                'headers': list((headers or {}).items()),
                'transports': transports,
                'path': '/' + socketio_path.strip('/'),
                'reconnection': self.reconnection,
                'reconnection_attempts': self.reconnection_attempts,
                'reconnection_delay': self.reconnection_delay,
                'reconnection_delay_max': self.reconnection_delay_max,
                'randomization_factor': self.randomization_factor,
                'timeout': self.request_timeout,
                'msgpack': self.msgpack,
                'ssl_verify': self.ssl_verify,
            }
            native = _native.NativeClient(self._pool, url, opts)
            names, catch_all = self._event_names(ns)
            native.set_events(names, catch_all)
            self._natives[ns] = native
        self._closed.clear()

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

    @staticmethod
    def _reason(reason):
        return CLIENT_REASONS.get(reason, reason)

    def _final(self, reason):
        """Whether a disconnect with this reason ends the connection for
        good (no reconnection follows)."""
        return (not self.reconnection) or reason in ('io server disconnect',
                                                      'io client disconnect')
