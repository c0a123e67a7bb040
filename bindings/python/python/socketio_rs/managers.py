"""Client managers: how several servers share their clients.

``client_manager=socketio_rs.RedisManager(url)`` (``AsyncRedisManager``
for ``AsyncServer``) joins a Redis cluster in **python-socketio's own**
pub/sub protocol: JSON messages published on one channel (``'socketio'``
by default), each a dict whose ``method`` is ``emit``, ``disconnect``,
``enter_room``, ``leave_room``, ``close_room`` or ``callback``, stamped
with the sending manager's ``host_id``; binary payloads travel base64
encoded behind python-socketio's placeholders. So one cluster holds
python-socketio servers and socketio_rs ones, each reaching the others'
clients: emits to everyone, a room or one sid (``skip_sid`` honoured),
rooms entered, left or closed for a client of another server,
disconnections, and acknowledgements routed back to the emitting server
(``call()`` to a client of another server included).

The server itself runs with its in-memory adapter; the manager handles an
operation here and publishes it for the other servers, and a listener
thread (started when the server starts, stopped by ``shutdown()``) applies
theirs, as python-socketio's ``PubSubManager`` does. It uses the ``redis``
package (redis-py, which python-socketio's ``RedisManager`` needs too):
``pip install redis``.

``write_only=True`` makes an emitter for a process that is not a server:
``RedisManager(url, write_only=True).emit('event', data, room=...)``
reaches the cluster's clients, as python-socketio's write-only managers do
(``enter_room``, ``leave_room``, ``close_room`` and ``disconnect`` too;
``AsyncRedisManager``'s are coroutines). With ``flavour='classic'`` the
same calls publish as the Node ``@socket.io/redis-emitter`` does, reaching
the clients of socketio_rs, Rust and Node servers on that protocol.

Giving a ``flavour`` (``'classic'``, ``'sharded'`` or ``'streams'``)
selects the other protocol, the Node ``@socket.io/redis-adapter``'s, spoken
by socketio-rs's Rust adapter: a cluster of socketio_rs, Rust and Node
servers (not python-socketio ones).

A Redis that cannot be reached raises ``ConnectionError`` when the manager
is made, or when its server starts if Redis went away since
(python-socketio would log and retry in the background); once running,
the listener outlives a Redis restart, subscribing again.
"""

import asyncio
import atexit
import base64
import itertools
import json as std_json
import logging
import threading
import time
import uuid
import weakref
from urllib.parse import urlparse

default_logger = logging.getLogger('socketio_rs')

#: The Node adapter protocols, spoken by the Rust core.
NODE_FLAVOURS = ('classic', 'sharded', 'streams')

#: Connect timeout (seconds) of the Redis connections, unless
#: ``redis_options`` sets ``socket_connect_timeout``.
CONNECT_TIMEOUT = 10.0

#: How often (seconds) the listener thread looks whether it must stop.
_POLL = 0.2

_SCHEMES = ('redis', 'rediss', 'unix', 'valkey', 'valkeys')
_SENTINEL_SCHEMES = ('redis+sentinel', 'valkey+sentinel')


def _redis():
    try:
        import redis
    except ImportError:
        raise RuntimeError('Redis package is not installed (Run "pip install redis" '
                           'in your virtualenv).') from None
    return redis


def _redact(url):
    """``url`` without its password, for messages."""
    p = urlparse(url)
    if p.password:
        return url.replace(':' + p.password + '@', ':***@', 1)
    return url


def parse_redis_sentinel_url(url):
    """python-socketio's Sentinel URL: ``redis+sentinel://[[user]:password@]
    host1:port1,host2:port2,.../db/service_name`` as ``(sentinels,
    service_name, connection_kwargs)``."""
    p = urlparse(url)
    if p.scheme not in _SENTINEL_SCHEMES:
        raise ValueError('Invalid Redis Sentinel URL')
    sentinels = []
    for host_port in p.netloc.split('@')[-1].split(','):
        host, sep, port = host_port.rpartition(':')
        if not sep or not host or not port.isdigit():
            raise ValueError(f'Invalid Redis Sentinel URL {_redact(url)!r}: each sentinel '
                             'is host:port')
        sentinels.append((host, int(port)))
    kwargs = {}
    if p.username:
        kwargs['username'] = p.username
    if p.password:
        kwargs['password'] = p.password
    service_name = None
    parts = p.path.split('/')
    if len(parts) >= 2 and parts[1] != '':
        kwargs['db'] = int(parts[1])
    if len(parts) >= 3 and parts[2] != '':
        service_name = parts[2]
    return sentinels, service_name, kwargs


# -- python-socketio's binary placeholders -----------------------------------

def _is_binary(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return True
    if isinstance(data, (list, tuple)):
        return any(_is_binary(d) for d in data)
    if isinstance(data, dict):
        return any(_is_binary(d) for d in data.values())
    return False


def _deconstruct(data, attachments):
    if isinstance(data, (bytes, bytearray, memoryview)):
        attachments.append(bytes(data))
        return {'_placeholder': True, 'num': len(attachments) - 1}
    if isinstance(data, (list, tuple)):
        return [_deconstruct(d, attachments) for d in data]
    if isinstance(data, dict):
        return {k: _deconstruct(v, attachments) for k, v in data.items()}
    return data


def _reconstruct(data, attachments):
    if isinstance(data, list):
        return [_reconstruct(d, attachments) for d in data]
    if isinstance(data, dict):
        if data.get('_placeholder') and 'num' in data:
            return attachments[data['num']]
        return {k: _reconstruct(v, attachments) for k, v in data.items()}
    return data


def emit_data(message):
    """The ``data`` of an ``emit`` message as python-socketio hands it to
    its ``emit``: binary attachments put back, one argument unwrapped,
    several as a tuple."""
    data = message['data']
    if message.get('binary'):
        attachments = [base64.b64decode(a) for a in data[1:]]
        data = _reconstruct(data[0], attachments)
    if isinstance(data, list):
        data = data[0] if len(data) == 1 else tuple(data)
    return data


def _room_list(v):
    """A room, sid or several as a list of names (none: an empty list)."""
    v = _names(v)
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(r) for r in v]


def _names(v):
    """A room or skip_sid as a message carries it: a name, a list, None."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, set, frozenset)):
        return list(v)
    return v


class RedisManager:
    """Shares the clients of several servers through the Redis at ``url``.

    The arguments are python-socketio's:

    - ``url``: ``redis://``, ``rediss://`` (TLS), ``unix://`` or a Sentinel
      URL, ``redis+sentinel://[:password@]host1:port1,host2:port2/db/service``
      (the service name defaults to the channel, as in python-socketio).
      ``valkey://`` spellings work too, through redis-py. With a Node
      ``flavour``, a list of URLs (or one string of comma-separated URLs)
      names the seed nodes of a Redis Cluster, ``redis://user:password@``
      logs in as an ACL user, and a Sentinel URL without a service name asks
      for ``mymaster``.
    - ``channel``: the pub/sub channel, the same on every server; default
      ``'socketio'``, python-socketio's.
    - ``write_only``: only emit, never listen: a manager used without a
      server, from a process that reaches the cluster's clients
      (``mgr.emit(...)``).
    - ``logger``: a ``logging.Logger`` for the manager's messages (default:
      the server's).
    - ``json``: the JSON module of a write-only manager without a server
      (as in python-socketio, a server's manager uses the server's JSON,
      the standard library's here: attached to a server, another raises
      ``ValueError``).
    - ``redis_options``: keyword arguments of ``redis.Redis.from_url()``
      (or of ``redis.sentinel.Sentinel()``).

    The Redis is reached when the manager is made: one that cannot be
    reached raises ``ConnectionError`` naming the URL.

    ``flavour`` selects the Node ``@socket.io/redis-adapter`` protocol
    instead, spoken by the Rust core: ``'classic'`` (``createAdapter``),
    ``'sharded'`` (``createShardedAdapter``) or ``'streams'``
    (``@socket.io/redis-streams-adapter``). ``channel`` is then the Node
    adapter's key, default ``'socket.io'`` (a Node server with default
    options joins the same cluster). Its write-only emitter needs
    ``flavour='classic'`` (the protocol ``@socket.io/redis-emitter``
    speaks). That protocol takes neither ``logger``, ``json`` nor
    ``redis_options``: each raises ``ValueError``.
    """

    name = 'redis'

    def __init__(self, url='redis://localhost:6379/0', channel=None, write_only=False,
                 logger=None, json=None, redis_options=None, flavour=None):
        if flavour is not None and flavour not in NODE_FLAVOURS:
            raise ValueError(f'unknown Redis adapter flavour {flavour!r} (the Node '
                             f'protocols: {", ".join(map(repr, NODE_FLAVOURS))}; without '
                             "a flavour, python-socketio's protocol)")
        if channel is not None and not isinstance(channel, str):
            raise TypeError(f'channel must be a string, not {type(channel).__name__}')
        if logger is not None and not callable(getattr(logger, 'error', None)):
            raise TypeError('logger must be a logging.Logger')
        if redis_options is not None and not isinstance(redis_options, dict):
            raise TypeError('redis_options must be a dict of keyword arguments')
        if json is not None and not (callable(getattr(json, 'dumps', None))
                                     and callable(getattr(json, 'loads', None))):
            raise TypeError('json must be a module with dumps() and loads()')
        if flavour is not None and isinstance(url, (list, tuple)) and url \
                and all(isinstance(u, str) for u in url):
            url = ','.join(url)
        self.url = self.redis_url = url
        self.flavour = flavour
        self.write_only = write_only
        self.logger = logger
        self.redis_options = dict(redis_options or {})
        self.server = None
        self.host_id = uuid.uuid4().hex
        self._emitter = None
        if flavour is not None:
            self.channel = 'socket.io' if channel is None else channel
            self.json = std_json
            self._check_node_options(write_only, flavour, logger, json, redis_options)
            if write_only:
                self._emitter = self._connect_emitter()
            return
        self.channel = 'socketio' if channel is None else channel
        self.json = json if json is not None else std_json
        self._custom_json = json is not None and json is not std_json
        self._listener = None
        self._ack_lock = threading.Lock()
        self._client = self._connect()

    @staticmethod
    def _check_node_options(write_only, flavour, logger, json, redis_options):
        if write_only and flavour != 'classic':
            raise ValueError(f'write_only=True: the write-only emitter of the Node protocol '
                             f"needs flavour='classic' (@socket.io/redis-emitter's protocol), "
                             f'not {flavour!r}')
        custom_json = json is not None and json is not std_json
        for name, value in (('logger', logger), ('json', custom_json),
                            ('redis_options', redis_options)):
            if value:
                raise ValueError(f'{name}= is not supported with a Node adapter flavour '
                                 '(the Rust adapter makes its own Redis connections and '
                                 "logs through Rust tracing); python-socketio's protocol "
                                 '(no flavour) takes it')

    # -- the Node adapter protocol ---------------------------------------------

    def _connect_emitter(self):
        """The native emitter of a write-only manager of the Node protocol,
        connected to Redis."""
        if not isinstance(self.url, str):
            raise TypeError(f'url must be a string, not {type(self.url).__name__}')
        from . import _native
        try:
            return _native.NativeEmitter(self.url, self.channel)
        except OSError as exc:
            raise ConnectionError(f'{type(self).__name__}: cannot reach Redis at '
                                  f'{_redact(self.url)}: {exc}') from exc

    def _node_call(self, method, *args):
        """A call of the native emitter, with its errors as this manager
        raises them."""
        def call():
            try:
                getattr(self._emitter, method)(*args)
            except OSError as exc:
                raise ConnectionError(f'{type(self).__name__}: cannot publish to Redis at '
                                      f'{_redact(self.url)}: {exc}') from exc
        return call

    def _node_emit(self, event, data, namespace, room, skip_sid, callback, to, kwargs):
        """What a write-only manager of the Node protocol does for ``emit``,
        as a call to make; None for python-socketio's protocol."""
        if self._emitter is None:
            return None
        self._check_kwargs(kwargs)
        if callback is not None:
            raise RuntimeError('Callbacks can only be issued from the context of a server.')
        if kwargs.get('ignore_queue'):
            return lambda: None  # no clients here
        if data is None:
            args = []
        elif isinstance(data, tuple):
            args = list(data)
        else:
            args = [data]
        # A sid is a room of its own, as in Node.
        return self._node_call('emit', namespace or '/', event, args,
                               _room_list(to or room), _room_list(skip_sid))

    def _node_op(self, what, *args):
        """What a write-only manager of the Node protocol does for
        ``enter_room``, ``leave_room``, ``close_room`` and ``disconnect``,
        as a call to make; None for python-socketio's protocol."""
        if self._emitter is None:
            return None
        return self._node_call(what, *args)

    def native_options(self):
        """The server option the native layer reads (Node flavours)."""
        return {'url': self.url, 'key': self.channel, 'flavour': self.flavour}

    # -- connection --------------------------------------------------------------

    def _connect(self):
        redis = _redis()
        url = self.url
        if not isinstance(url, str):
            raise TypeError(f'url must be a string, not {type(url).__name__}')
        scheme = urlparse(url).scheme.lower()
        opts = dict(self.redis_options)
        opts.setdefault('socket_connect_timeout', CONNECT_TIMEOUT)
        if scheme in _SENTINEL_SCHEMES:
            sentinels, service, kwargs = parse_redis_sentinel_url(url)
            opts.update(kwargs)
            sentinel = redis.sentinel.Sentinel(sentinels, **opts)
            client = sentinel.master_for(service or self.channel)
        elif scheme in _SCHEMES:
            if scheme.startswith('valkey'):
                url = 'redis' + url[len('valkey'):]
            client = redis.Redis.from_url(url, **opts)
        else:
            raise ValueError(f'Unsupported Redis URL scheme: {scheme!r} (supported: '
                             'redis, rediss, unix, redis+sentinel, and the valkey '
                             'spellings)')
        try:
            client.ping()
        except (redis.exceptions.RedisError, OSError) as exc:
            client.close()
            raise ConnectionError(f'{type(self).__name__}: cannot reach Redis at '
                                  f'{_redact(self.url)}: {exc}') from exc
        return client

    def _get_logger(self):
        if self.logger:
            return self.logger
        if self.server is not None:
            return self.server.logger
        return default_logger

    def _node_only(self, what):
        if self.flavour is not None:
            raise RuntimeError(f'{what}: a manager of the Node adapter protocol '
                               f'(flavour={self.flavour!r}) only serves a server')

    # -- publishing ----------------------------------------------------------------

    def _dumps(self, message):
        return self.json.dumps(message)

    def _send(self, payload):
        redis = _redis()
        try:
            return self._client.publish(self.channel, payload)
        except (redis.exceptions.RedisError, OSError) as exc:
            raise ConnectionError(f'{type(self).__name__}: cannot publish to Redis at '
                                  f'{_redact(self.url)}: {exc}') from exc

    async def _asend(self, payload):
        # redis-py's client, off the event loop: usable from any loop.
        return await asyncio.get_running_loop().run_in_executor(None, self._send, payload)

    def _message(self, method, **fields):
        fields['method'] = method
        fields['host_id'] = self.host_id
        return self._dumps(fields)

    def _emit_payload(self, event, data, namespace, room, skip_sid, callback):
        """The JSON of an ``emit`` message, as python-socketio's
        ``PubSubManager.emit`` builds it."""
        data = list(data) if isinstance(data, tuple) else [data]
        binary = _is_binary(data)
        if binary:
            attachments = []
            data = _deconstruct(data, attachments)
            data = [data, *[base64.b64encode(a).decode() for a in attachments]]
        return self._dumps({'method': 'emit', 'event': event, 'data': data,
                            'binary': binary, 'namespace': namespace,
                            'room': _names(room), 'skip_sid': _names(skip_sid),
                            'callback': callback, 'host_id': self.host_id})

    def _callback_payload(self, host_id, sid, namespace, callback_id, args):
        return self._dumps({'method': 'callback', 'host_id': host_id, 'sid': sid,
                            'namespace': namespace, 'id': callback_id, 'args': list(args)})

    # -- a server's manager ----------------------------------------------------------

    def _attach(self, server):
        """Called by the server this manager serves."""
        if self.server is not None and self.server is not server:
            raise ValueError(f'this {type(self).__name__} already serves another server; '
                             'make one manager per server')
        if self._custom_json:
            raise ValueError("json= of a RedisManager is only used by a write-only manager "
                             "without a server: as in python-socketio, a server's manager "
                             "uses the server's JSON (the standard library's here)")
        self.server = server

    def _subscribe(self, server):
        """Subscribes to the channel (the listener thread is not started
        yet); None for a write-only manager."""
        if self.write_only:
            return None
        if self._listener is not None:
            self._listener.stop()
        listener = _Listener(self, server)
        self._listener = listener
        return listener

    def _stop(self):
        """Stops the listener thread (the server shuts down)."""
        listener, self._listener = getattr(self, '_listener', None), None
        if listener is not None:
            listener.stop()

    def _handle(self, server, raw):
        """Applies one message of the channel on ``server`` (the listener
        thread), as python-socketio's ``PubSubManager._thread``."""
        try:
            data = self.json.loads(raw)
        except Exception:  # noqa: BLE001 - not ours: ignored, as python-socketio
            return
        if not isinstance(data, dict) or 'method' not in data:
            return
        method = data['method']
        self._get_logger().debug('pubsub message: %s', method)
        try:
            if method == 'callback':
                if data.get('host_id') == self.host_id:
                    try:
                        sid, callback_id, args = data['sid'], data['id'], data['args']
                    except KeyError:
                        return
                    server._pubsub_ack(sid, callback_id, args)
                return
            if data.get('host_id') == self.host_id:
                return
            namespace = data.get('namespace') or '/'
            if method == 'emit':
                remote = data.get('callback')
                callback = None
                if remote is not None and len(remote) == 3:
                    callback = server._pubsub_returner(data.get('host_id'), *remote)
                server._emit_local(data['event'], emit_data(data), namespace,
                                   data.get('room'), data.get('skip_sid'), callback)
            elif method == 'disconnect':
                server._local_op('disconnect', namespace, data.get('sid'))
            elif method == 'enter_room':
                server._local_op('enter_room', namespace, data.get('sid'), data.get('room'))
            elif method == 'leave_room':
                server._local_op('leave_room', namespace, data.get('sid'), data.get('room'))
            elif method == 'close_room':
                server._local_op('close_room', namespace, data.get('room'))
        except Exception:
            self._get_logger().exception('Handler error in pubsub listening thread')

    # -- python-socketio's manager API (write-only emitters) ------------------------

    def _standalone(self, what):
        self._node_only(what)
        if self.server is not None:
            raise RuntimeError(f'{what}: this manager serves a server; call the '
                               f"server's {what}() instead")

    @staticmethod
    def _check_kwargs(kwargs):
        unknown = sorted(set(kwargs) - {'ignore_queue'})
        if unknown:
            raise TypeError(f'socketio_rs: unexpected keyword argument {unknown[0]!r}')

    def _emit_standalone(self, event, data, namespace, room, skip_sid, callback, to, kwargs):
        self._standalone('emit')
        self._check_kwargs(kwargs)
        if callback is not None:
            raise RuntimeError('Callbacks can only be issued from the context of a server.')
        if kwargs.get('ignore_queue'):
            return None  # no clients here
        return self._emit_payload(event, data, namespace or '/', to or room, skip_sid, None)

    def emit(self, event, data=None, namespace=None, room=None, skip_sid=None,
             callback=None, to=None, **kwargs):
        """Emits to the cluster's clients: all of a namespace, a room (or
        several), one sid (``to``), minus ``skip_sid``. ``data`` as a tuple
        sends several arguments."""
        node = self._node_emit(event, data, namespace, room, skip_sid, callback, to, kwargs)
        if node is not None:
            return node()
        payload = self._emit_standalone(event, data, namespace, room, skip_sid, callback,
                                        to, kwargs)
        if payload is not None:
            self._send(payload)

    def enter_room(self, sid, namespace, room, eio_sid=None):
        """Puts the client ``sid`` (on whichever server) in a room."""
        node = self._node_op('sockets_join', namespace or '/', [sid], room)
        if node is not None:
            return node()
        self._standalone('enter_room')
        self._send(self._message('enter_room', sid=sid, room=room, namespace=namespace or '/'))

    def leave_room(self, sid, namespace, room):
        """Takes the client ``sid`` out of a room."""
        node = self._node_op('sockets_leave', namespace or '/', [sid], room)
        if node is not None:
            return node()
        self._standalone('leave_room')
        self._send(self._message('leave_room', sid=sid, room=room, namespace=namespace or '/'))

    def close_room(self, room, namespace=None):
        """Takes every client of the cluster out of a room."""
        node = self._node_op('sockets_leave', namespace or '/', [room], room)
        if node is not None:
            return node()
        self._standalone('close_room')
        self._send(self._message('close_room', room=room, namespace=namespace or '/'))

    def disconnect(self, sid, namespace=None, **kwargs):
        """Disconnects the client ``sid`` from a namespace."""
        self._check_kwargs(kwargs)
        node = self._node_op('disconnect_sockets', namespace or '/', [sid], False)
        if node is not None:
            return None if kwargs.get('ignore_queue') else node()
        self._standalone('disconnect')
        if not kwargs.get('ignore_queue'):
            self._send(self._message('disconnect', sid=sid, namespace=namespace or '/'))


class AsyncRedisManager(RedisManager):
    """:class:`RedisManager` for ``AsyncServer``: the same protocols and
    arguments; a write-only manager's methods are coroutines
    (``await mgr.emit(...)``)."""

    name = 'aioredis'

    async def emit(self, event, data=None, namespace=None, room=None, skip_sid=None,
                   callback=None, to=None, **kwargs):
        """As :meth:`RedisManager.emit`; a coroutine."""
        node = self._node_emit(event, data, namespace, room, skip_sid, callback, to, kwargs)
        if node is not None:
            return await _off_loop(node)
        payload = self._emit_standalone(event, data, namespace, room, skip_sid, callback,
                                        to, kwargs)
        if payload is not None:
            await self._asend(payload)

    async def enter_room(self, sid, namespace, room, eio_sid=None):
        """As :meth:`RedisManager.enter_room`; a coroutine."""
        node = self._node_op('sockets_join', namespace or '/', [sid], room)
        if node is not None:
            return await _off_loop(node)
        self._standalone('enter_room')
        await self._asend(self._message('enter_room', sid=sid, room=room,
                                        namespace=namespace or '/'))

    async def leave_room(self, sid, namespace, room):
        """As :meth:`RedisManager.leave_room`; a coroutine."""
        node = self._node_op('sockets_leave', namespace or '/', [sid], room)
        if node is not None:
            return await _off_loop(node)
        self._standalone('leave_room')
        await self._asend(self._message('leave_room', sid=sid, room=room,
                                        namespace=namespace or '/'))

    async def close_room(self, room, namespace=None):
        """As :meth:`RedisManager.close_room`; a coroutine."""
        node = self._node_op('sockets_leave', namespace or '/', [room], room)
        if node is not None:
            return await _off_loop(node)
        self._standalone('close_room')
        await self._asend(self._message('close_room', room=room, namespace=namespace or '/'))

    async def disconnect(self, sid, namespace=None, **kwargs):
        """As :meth:`RedisManager.disconnect`; a coroutine."""
        self._check_kwargs(kwargs)
        node = self._node_op('disconnect_sockets', namespace or '/', [sid], False)
        if node is not None:
            return None if kwargs.get('ignore_queue') else await _off_loop(node)
        self._standalone('disconnect')
        if not kwargs.get('ignore_queue'):
            await self._asend(self._message('disconnect', sid=sid,
                                            namespace=namespace or '/'))


async def _off_loop(call):
    # The native emitter blocks until Redis answers: off the event loop.
    return await asyncio.get_running_loop().run_in_executor(None, call)


_listeners: 'weakref.WeakSet[_Listener]' = weakref.WeakSet()


@atexit.register
def _stop_listeners():
    # Stopped before the interpreter finalizes, as the worker pools are.
    for listener in list(_listeners):
        listener.stop(timeout=1.0)


class _Listener:
    """The thread that applies the other servers' messages on a server.

    Subscribed when made (so a Redis gone since the manager was made raises
    ``ConnectionError`` when the server starts); ``start()`` runs the thread,
    ``stop()`` ends it. It holds the server weakly: a server dropped without
    ``shutdown()`` ends it too."""

    def __init__(self, manager, server):
        redis = _redis()
        self.manager = manager
        self.server = weakref.ref(server)
        self.channel = manager.channel
        self._stop = threading.Event()
        self.pubsub = manager._client.pubsub(ignore_subscribe_messages=True)
        try:
            self.pubsub.subscribe(manager.channel)
        except (redis.exceptions.RedisError, OSError) as exc:
            self.pubsub.close()
            raise ConnectionError(f'{type(manager).__name__}: cannot subscribe to Redis at '
                                  f'{_redact(manager.url)}: {exc}') from exc
        self.thread = threading.Thread(target=self._run, name='socketio_rs-redis-listener',
                                       daemon=True)

    def start(self):
        _listeners.add(self)
        self.thread.start()

    def stop(self, timeout=5.0):
        self._stop.set()
        if not self.thread.is_alive():
            if self.thread.ident is None:
                self.pubsub.close()  # never started
            return
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    def close(self):
        """Unsubscribes a listener that was never started."""
        self._stop.set()
        self.pubsub.close()

    def _run(self):
        manager = self.manager
        channel = self.channel
        retry = 1
        try:
            while not self._stop.is_set():
                try:
                    msg = self.pubsub.get_message(timeout=_POLL)
                except Exception as exc:  # noqa: BLE001 - Redis gone: retried
                    if self._stop.is_set():
                        break
                    manager._get_logger().error(
                        'Cannot receive from redis... retrying in %s secs', retry,
                        extra={'redis_exception': str(exc)})
                    if self._stop.wait(retry):
                        break
                    retry = min(retry * 2, 60)
                    continue
                retry = 1
                if msg is None or msg.get('type') != 'message':
                    continue
                ch = msg.get('channel')
                if isinstance(ch, bytes):
                    ch = ch.decode('utf-8', 'replace')
                if ch != channel:
                    continue
                server = self.server()
                if server is None:
                    break
                manager._handle(server, msg['data'])
                del server
        finally:
            try:
                self.pubsub.close()
            except Exception:  # noqa: BLE001 - closing anyway
                pass


class AckRegistry:
    """The acknowledgement callbacks of emits that went to other servers,
    by ``(room, id)``: python-socketio's ``callback`` messages name them.
    The first answer takes a callback; one never answered is dropped after
    ``timeout`` seconds."""

    def __init__(self, timeout):
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._items = {}
        self._pruned = time.monotonic()

    @staticmethod
    def key(room, callback_id):
        if isinstance(room, list):
            room = tuple(room)
        return (room, callback_id)

    def next_id(self):
        return next(self._ids)

    def add(self, key, callback):
        now = time.monotonic()
        with self._lock:
            if now - self._pruned > 60:
                self._pruned = now
                for k in [k for k, (_, t) in self._items.items() if t < now]:
                    del self._items[k]
            self._items[key] = (callback, now + self._timeout)

    def take(self, key):
        with self._lock:
            entry = self._items.pop(key, None)
        return None if entry is None else entry[0]

    def drop(self, key):
        with self._lock:
            self._items.pop(key, None)
