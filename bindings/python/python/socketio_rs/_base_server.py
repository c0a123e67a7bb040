"""What ``Server`` and ``AsyncServer`` share: options, the native server,
environ building, sessions, rooms."""

import os
import socket
import threading

from . import _native
from ._base import Handlers, SERVER_REASONS, as_list, next_token, pack
from .managers import AckRegistry, RedisManager

#: How long an acknowledgement callback waits for its answer.
CALLBACK_TIMEOUT = 3600.0

_ENGINE_OPTIONS = (
    'ping_interval', 'ping_timeout', 'max_http_buffer_size', 'allow_upgrades',
    'transports', 'cors_allowed_origins', 'cors_credentials', 'upgrade_timeout',
    'connect_timeout', 'ack_timeout', 'max_connections',
)

_ASYNC_MODES = {False: (None, 'threading'), True: (None, 'asgi', 'aiohttp')}


def engine_options(kwargs, logger, asyncio_based=False):
    """python-socketio / python-engineio keyword options as the native
    server's options. Each is honoured or refused: an unsupported value
    raises ``ValueError``, an unknown name ``TypeError``."""
    opts = {}
    check_origins(kwargs.get('cors_allowed_origins'))
    for k, v in kwargs.items():
        if k == 'async_mode':
            if v not in _ASYNC_MODES[asyncio_based]:
                raise ValueError(f'async_mode={v!r} is not supported by socketio_rs '
                                 f'(supported: {_ASYNC_MODES[asyncio_based][1]!r})')
            continue
        if k == 'ping_interval' and isinstance(v, (tuple, list)):
            v = v[0]
        if k == 'transports' and isinstance(v, str):
            v = [v]
        if k == 'http_compression':
            if not v:
                opts['compression_threshold'] = None
            continue
        if k == 'compression_threshold':
            if kwargs.get('http_compression', True):
                opts[k] = v
            continue
        if k == 'cookie':
            opts['cookie'] = cookie_options(v)
            continue
        if k == 'monitor_clients':
            if v is False:
                raise ValueError('monitor_clients=False is not supported: the engine '
                                 'always times out clients that stop answering pings')
            continue
        if k == 'serve_client':
            if v is not None and v is not False:
                opts['serve_client'] = client_bundle(v)
            continue
        if k == 'engineio_logger':
            note_engineio_logger(v, logger)
            continue
        if k in _ENGINE_OPTIONS:
            opts[k] = v
        else:
            raise TypeError(f'socketio_rs: unexpected keyword argument {k!r}')
    return opts


def client_bundle(value):
    """``serve_client``, as socket.io's ``serveClient``: the official browser
    client served under the Socket.IO path (``/socket.io/socket.io.js``,
    ``socket.io.min.js``, ``socket.io.msgpack.min.js``,
    ``socket.io.esm.min.js`` and their maps). Its files come from the npm
    package socket.io-client: ``True`` takes its directory from
    ``SOCKETIO_CLIENT_DIST``, a path (str or ``os.PathLike``) names it. Read
    here, once: a directory without the files raises ``FileNotFoundError``
    at construction."""
    if value is True:
        path = os.environ.get('SOCKETIO_CLIENT_DIST')
        if not path:
            raise ValueError('serve_client=True takes the directory of the npm package '
                             'socket.io-client from SOCKETIO_CLIENT_DIST, which is not set; '
                             'set it, or pass the directory: '
                             "serve_client='node_modules/socket.io-client'")
    elif isinstance(value, (str, os.PathLike)):
        path = value
    else:
        raise TypeError('serve_client must be True, False or the directory of the npm '
                        f'package socket.io-client, not {type(value).__name__}')
    return _native.ClientBundle(os.fspath(path))


def note_engineio_logger(value, logger):
    """``engineio_logger`` is accepted (python-socketio code passes it
    often); what it would log comes from the Rust engine's tracing."""
    if value:
        logger.info('socketio_rs: engineio_logger: the engine logs through Rust '
                    'tracing (RUST_LOG), not through Python logging')


def cookie_options(value):
    """python-engineio's ``cookie``: a name (with ``Path=/`` and
    ``SameSite=Lax``) or a dict of cookie attributes."""
    if value is None:
        return None
    if isinstance(value, str):
        return {'name': value, 'path': '/', 'same_site': 'Lax', 'http_only': False}
    if not isinstance(value, dict):
        raise TypeError('cookie must be a name or a dict of attributes')
    out = {'name': 'io', 'http_only': False}
    names = {'name': 'name', 'path': 'path', 'domain': 'domain', 'samesite': 'same_site',
             'secure': 'secure', 'httponly': 'http_only', 'max-age': 'max_age'}
    for k, v in value.items():
        key = names.get(k.lower())
        if key is None:
            raise TypeError(f'cookie attribute {k!r} is not supported')
        if callable(v):
            v = v()
        if key in ('secure', 'http_only'):
            if not isinstance(v, bool):
                raise TypeError(f'cookie attribute {k!r} must be True or False')
        elif key == 'max_age':
            v = int(v)
        elif not isinstance(v, str):
            raise TypeError(f'cookie attribute {k!r} must be a string')
        out[key] = v
    return out


def check_json(json):
    """Only the standard library's json: payloads are encoded by the Rust
    core, so another module would not be used."""
    import json as std_json
    if json is not None and json is not std_json:
        raise ValueError('json= is not supported by socketio_rs: payloads are encoded '
                         'and decoded in Rust (any JSON-serializable value works)')


def check_origins(value):
    """Refuses a ``cors_allowed_origins`` python-engineio would not take,
    at construction rather than at the first request."""
    if value is None or isinstance(value, str) or callable(value):
        return
    if isinstance(value, (list, tuple, set)) and all(isinstance(o, str) for o in value):
        return
    raise TypeError('cors_allowed_origins must be None, \'*\', an origin, a list of '
                    f'origins or a callable, not {value!r}')


def path_of(socketio_path):
    """``'socket.io'`` as the engine path ``'/socket.io/'``."""
    return '/' + socketio_path.strip('/') + '/'


def environ_of(handshake):
    """A WSGI-style environ built from the connection's handshake, as
    python-socketio hands connect handlers."""
    url = handshake.get('url') or '/'
    path, _, query = url.partition('?')
    environ = {
        'REQUEST_METHOD': 'GET',
        'PATH_INFO': path,
        'QUERY_STRING': query,
        'REMOTE_ADDR': handshake.get('address', ''),
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'wsgi.url_scheme': 'https' if handshake.get('secure') else 'http',
        'socketio_rs.handshake': handshake,
    }
    for name, value in (handshake.get('headers') or {}).items():
        key = name.upper().replace('-', '_')
        if key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
            environ[key] = value
        else:
            environ['HTTP_' + key] = value
    return environ


class InstrumentedServer:
    """What ``instrument()`` returns: its settings, under python-socketio's
    attribute names. The Admin UI is served by the Rust core for as long
    as the server lives."""

    def __init__(self, sio, auth, mode, read_only, server_id, namespace,
                 server_stats_interval):
        self.sio = sio
        self.auth = auth
        self.admin_namespace = namespace
        self.read_only = read_only
        self.server_id = server_id or socket.gethostname()
        self.mode = mode
        self.server_stats_interval = server_stats_interval


class BaseServer(Handlers):
    """Handlers, native server, sessions."""

    reserved_events = ('connect', 'disconnect')
    _asyncio_based = False

    def __init__(self, client_manager=None, logger=False, serializer='default', json=None,
                 async_handlers=True, always_connect=False, namespaces=None, **kwargs):
        super().__init__(logger)
        redis = None
        pubsub = None
        if isinstance(client_manager, RedisManager):
            if client_manager.flavour is None:
                pubsub = client_manager
            else:
                redis = client_manager.native_options()
        elif client_manager is not None:
            raise ValueError(f'client_manager {type(client_manager).__name__} is not '
                             'supported by socketio_rs; use socketio_rs.RedisManager')
        if serializer not in ('default', 'msgpack', None):
            raise ValueError(f'serializer={serializer!r} is not supported by socketio_rs '
                             "(supported: 'default', 'msgpack')")
        check_json(json)
        if always_connect:
            raise ValueError('always_connect=True is not supported by socketio_rs')
        self.async_handlers = async_handlers
        self.always_connect = always_connect
        self.namespaces = namespaces or ['/']
        self.eio = None
        #: The mode serving the server, as python-socketio reports it
        #: (examples read it): the one asked for, else the class's own.
        self.async_mode = kwargs.get('async_mode') or \
            ('asgi' if self._asyncio_based else 'threading')
        self._options = engine_options(kwargs, self.logger, self._asyncio_based)
        self._options['serializer'] = 'msgpack' if serializer == 'msgpack' else 'default'
        if redis is not None:
            self._options['client_manager'] = redis
        self._native = None
        self._native_lock = threading.Lock()
        self._admin_pending = []
        self._sessions = {}
        self._environ = {}
        self._callbacks = {}
        #: The manager of python-socketio's pub/sub protocol, if any (taken
        #: last: a server whose arguments are refused leaves it free).
        self._pubsub = None
        if pubsub is not None:
            pubsub._attach(self)
            self._pubsub = pubsub
            self._remote_acks = AckRegistry(CALLBACK_TIMEOUT)

    # -- the native server ----------------------------------------------

    def _make_pool(self):
        raise NotImplementedError

    def _get_native(self, socketio_path='socket.io'):
        with self._native_lock:
            if self._native is None:
                opts = dict(self._options)
                opts['path'] = path_of(socketio_path)
                # Subscribed before the server takes clients; the other
                # servers' messages are applied once it exists.
                listener = self._pubsub._subscribe(self) if self._pubsub else None
                try:
                    self._pool = self._make_pool()
                    self._native = _native.NativeServer(self._pool, opts)
                except BaseException:
                    if listener is not None:
                        listener.close()
                    raise
                for ns in self._all_namespaces():
                    self._sync_namespace(ns)
                self._sync_dynamic()
                for args in self._admin_pending:
                    self._native.instrument(*args)
                self._admin_pending = []
                if listener is not None:
                    listener.start()
            return self._native

    def _all_namespaces(self):
        names = set(self._namespaces())
        if self.namespaces != '*':
            names.update(self.namespaces)
        return sorted(names)

    def _sync_namespace(self, namespace):
        if namespace == '*' or self._native is None:
            return
        self._native.register_namespace(namespace)
        names, catch_all = self._event_names(namespace)
        self._native.set_events(namespace, names, catch_all)

    def _sync_dynamic(self):
        # namespaces='*': any namespace is accepted, '*' handlers apply.
        if self.namespaces != '*' or self._native is None:
            return
        self._native.register_dynamic()
        names, catch_all = self._event_names('*')
        self._native.set_events('*', names, catch_all)

    def _handlers_changed(self, namespace):
        if self._native is None:
            return
        targets = self._all_namespaces() if namespace == '*' else [namespace]
        for ns in targets:
            self._sync_namespace(ns)
        if namespace == '*':
            self._sync_dynamic()

    # -- the Admin UI ------------------------------------------------------

    def instrument(self, auth=None, mode='development', read_only=False, server_id=None,
                   namespace='/admin', server_stats_interval=2):
        """Instrument the Socket.IO server for monitoring with the `Socket.IO
        Admin UI <https://socket.io/docs/v4/admin-ui/>`_.

        :param auth: Authentication credentials for Admin UI access. Set to a
                     dictionary with the expected login (usually ``username``
                     and ``password``) or a list of dictionaries if more than
                     one set of credentials need to be available. For more
                     complex authentication methods, set to a callable that
                     receives the authentication dictionary as an argument and
                     returns ``True`` if the user is allowed or ``False``
                     otherwise (with ``AsyncServer``, a coroutine function
                     too). To disable authentication, set this argument to
                     ``False`` (not recommended, never do this on a production
                     server).
        :param mode: The reporting mode. The default is ``'development'``,
                     which is best used while debugging, as it may have a
                     significant performance effect. Set to ``'production'`` to
                     reduce the amount of information that is reported to the
                     admin UI.
        :param read_only: If set to ``True``, the admin interface will be
                          read-only, with no option to modify room assignments
                          or disconnect clients. The default is ``False``.
        :param server_id: The server name to use for this server. If this
                          argument is omitted, the server uses its host name.
        :param namespace: The Socket.IO namespace to use for the admin
                          interface. The default is ``/admin``.
        :param server_stats_interval: The interval in seconds at which the
                                      server emits a summary of it stats to all
                                      connected admins.

        The Admin UI is served by the Rust core (``@socket.io/admin-ui``'s
        protocol): the credentials are checked against what the UI sends
        when it connects, and a UI let in also gets a session id to log in
        again with. A refusal's message is ``invalid credentials``, the
        npm server's. The checks run on a thread of their own, not on the
        event loop.
        """
        if auth is None:
            raise ValueError('auth must be specified')
        check = self._admin_check(auth) if auth else None
        if isinstance(server_stats_interval, bool) or \
                not isinstance(server_stats_interval, (int, float)) or \
                not 0 < server_stats_interval < float('inf'):
            raise ValueError('server_stats_interval must be a positive number of seconds, '
                             f'not {server_stats_interval!r}')
        inst = InstrumentedServer(self, auth, mode, read_only, server_id, namespace,
                                  server_stats_interval)
        args = (check, mode == 'development', bool(read_only), inst.server_id, namespace,
                float(server_stats_interval))
        with self._native_lock:
            native = self._native
            if native is None:
                # Applied when the native server is made (its path is
                # known then), before it takes connections.
                self._admin_pending.append(args)
        if native is not None:
            native.instrument(*args)
        return inst

    def _admin_check(self, auth):
        """python-socketio's ``auth`` as a check of the UI's CONNECT
        payload, called by the native server on a thread of its own."""
        if isinstance(auth, dict):
            def accept(client_auth):
                return client_auth == auth
        elif isinstance(auth, list):
            def accept(client_auth):
                return client_auth in auth
        elif callable(auth):
            accept = self._admin_callable(auth)
        else:
            raise TypeError('auth must be a dict, a list of dicts, a callable or False, '
                            f'not {type(auth).__name__}')
        logger = self.logger

        def check(client_auth):
            try:
                return bool(accept(client_auth or None))
            except Exception:  # noqa: BLE001 - a failing check refuses
                logger.exception('socketio_rs: error in the Admin UI auth callable')
                return False

        return check

    def _admin_callable(self, auth):
        return auth

    # -- queries ---------------------------------------------------------

    def rooms(self, sid, namespace=None):
        """The rooms a client is in, its own sid room included."""
        if self._native is None:
            return []
        return self._native.rooms(namespace or '/', sid)

    def transport(self, sid, namespace=None):
        """The transport of a client: ``'polling'`` or ``'websocket'``."""
        if self._native is None:
            return None
        return self._native.transport(namespace or '/', sid)

    def get_environ(self, sid, namespace=None):
        """The WSGI-style environ of a client's connection."""
        return self._environ.get((namespace or '/', sid))

    def _targets(self, to, room, skip_sid):
        return as_list(to if to is not None else room), as_list(skip_sid)

    def _emit_local(self, event, data, namespace, room, skip_sid, callback):
        """Emits to this server's clients: ``callback`` is called with
        each one's acknowledgement."""
        native = self._get_native()
        to, skip = self._targets(room, None, skip_sid)
        args = pack(data)
        if callback is None:
            native.emit(namespace, event, args, to, skip)
            return
        for sid in native.targets(namespace, to, skip):
            token = next_token()
            self._callbacks[token] = callback
            native.emit_with_ack(namespace, sid, event, args, CALLBACK_TIMEOUT, token)

    # -- python-socketio's pub/sub protocol (RedisManager) ------------------
    #
    # As python-socketio's PubSubManager: an emit or a room closed is done
    # here and published; entering or leaving a room, disconnecting, are done
    # here for a client of this server, else published for the server that
    # has it. The manager's listener applies the other servers' messages
    # (_emit_local, _local_op, _pubsub_ack, _pubsub_returner).

    def _is_here(self, namespace, sid):
        """Whether ``sid`` is a client of this server (connected, or in
        its connect handler)."""
        native = self._native
        return native is not None and isinstance(sid, str) and \
            native.transport(namespace, sid) is not None

    def _pubsub_emit(self, event, data, namespace, room, skip_sid, callback):
        """Emits here; returns ``(payload, ack_key)``: the message for the
        other servers (None when ``room`` is a client of this server) and
        the key of the callback waiting for their answers."""
        if isinstance(room, str) and self._is_here(namespace, room):
            self._emit_local(event, data, namespace, room, skip_sid, callback)
            return None, None
        key = None
        remote = None
        if callback is not None:
            if room is None:
                raise ValueError('Cannot use callback without a room set.')
            callback_id = self._remote_acks.next_id()
            remote = [room if isinstance(room, str) else list(room), namespace, callback_id]
            key = self._remote_acks.key(remote[0], callback_id)
        # Encoded first: a payload JSON cannot carry raises before anything
        # is sent.
        payload = self._pubsub._emit_payload(event, data, namespace, room, skip_sid, remote)
        local = None
        if key is not None:
            self._remote_acks.add(key, callback)
            registry = self._remote_acks

            def local(*args):
                # The first answer, from here or another server, takes it.
                cb = registry.take(key)
                return None if cb is None else cb(*args)
        self._emit_local(event, data, namespace, room, skip_sid, local)
        return payload, key

    def _local_op(self, op, namespace, *args):
        """A room operation or disconnection asked by another server."""
        native = self._native
        if native is None:
            return
        if op == 'close_room':
            native.close_room(namespace, *args)
        elif self._is_here(namespace, args[0]):
            getattr(native, op)(namespace, *args)

    def _take_remote_ack(self, sid, callback_id):
        callback = self._remote_acks.take(self._remote_acks.key(sid, callback_id))
        if callback is None:
            self.logger.warning('Unknown callback received, ignoring.')
        return callback

    # -- events from the native side --------------------------------------

    def _environ_for(self, namespace, sid, handshake):
        environ = environ_of(handshake)
        self._environ[(namespace, sid)] = environ
        auth = handshake.get('auth') or None
        return environ, auth

    def _forget(self, namespace, sid):
        self._environ.pop((namespace, sid), None)
        self._sessions.pop((namespace, sid), None)

    @staticmethod
    def _reason(reason):
        return SERVER_REASONS.get(reason, reason)

    # -- sessions ---------------------------------------------------------

    def _session(self, sid, namespace):
        return self._sessions.setdefault((namespace or '/', sid), {})

    def _save(self, sid, session, namespace):
        self._sessions[(namespace or '/', sid)] = session
