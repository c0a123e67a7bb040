"""What the four front classes share: handler registration and lookup,
argument packing, reasons, logging."""

import atexit
import collections
import inspect
import itertools
import logging
import os
import threading
import weakref

from . import _native, exceptions

default_logger = logging.getLogger('socketio_rs')

#: Returned by ``_trigger_event`` when nothing handles the event.
NOT_HANDLED = object()

_tokens = itertools.count(1)

_pools: 'weakref.WeakSet[object]' = weakref.WeakSet()


def track_pool(pool):
    """Remembers a worker pool, to stop it at interpreter exit."""
    _pools.add(pool)
    return pool


@atexit.register
def _stop_pools():
    # Worker threads must be gone before the interpreter finalizes: a thread
    # that tries to run Python code then is killed mid-flight.
    pools = list(_pools)
    for p in pools:
        p.close()
    for p in pools:
        p.join(2.0)


def next_token():
    """A token naming one callback or future."""
    return next(_tokens)


def pack(data):
    """An emit's ``data`` as the argument list: a tuple spreads into several
    arguments, ``None`` sends none, anything else is one argument."""
    if data is None:
        return []
    if isinstance(data, tuple):
        return list(data)
    return [data]


def unpack_reply(r):
    """A handler's return value as acknowledgement arguments."""
    if r is None:
        return []
    if isinstance(r, tuple):
        return list(r)
    return [r]


def call_result(args):
    """What ``call`` returns for these acknowledgement arguments."""
    if len(args) > 1:
        return tuple(args)
    if len(args) == 1:
        return args[0]
    return None


def as_list(v):
    """None, one name, or several names, as None or a list."""
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    return list(v)


def make_logger(logger):
    """python-socketio's ``logger`` argument: a logger, True (info level)
    or False (errors only)."""
    if isinstance(logger, logging.Logger):
        return logger
    log = default_logger
    if logger is True:
        log.setLevel(logging.INFO)
    elif log.level == logging.NOTSET:
        log.setLevel(logging.ERROR)
    if not logging.root.handlers and not log.handlers:
        log.addHandler(logging.StreamHandler())
    return log


def refusal(exc):
    """``(message, data)`` of a refusal raised by a connect handler."""
    args = getattr(exc, 'error_args', None)
    if isinstance(args, dict):
        return str(args.get('message', 'Connection rejected by server')), args.get('data')
    return 'Connection refused by server', None


def is_refusal(exc):
    """True for this package's, python-socketio's and the builtin
    ``ConnectionRefusedError``."""
    return isinstance(exc, (exceptions.ConnectionRefusedError, ConnectionRefusedError)) or (
        type(exc).__name__ == 'ConnectionRefusedError' and hasattr(exc, 'error_args'))


def accepts(handler, n):
    """Whether ``handler`` can take ``n`` positional arguments."""
    try:
        sig = inspect.signature(handler)
    except (TypeError, ValueError):
        return True
    try:
        sig.bind(*([None] * n))
        return True
    except TypeError:
        return False


SERVER_REASONS = {
    'client namespace disconnect': 'client disconnect',
    'server namespace disconnect': 'server disconnect',
    'server shutting down': 'server disconnect',
    'forced close': 'server disconnect',
    'forced server close': 'server disconnect',
    'parse error': 'transport error',
}

CLIENT_REASONS = {
    'io server disconnect': 'server disconnect',
    'io client disconnect': 'client disconnect',
    'parse error': 'transport error',
}


class LoopPool:
    """Runs the native layer's jobs on an asyncio loop, in order.

    On Unix the native pool has no thread: a burst of jobs makes a pipe
    readable, the loop's reader callback runs them all. No thread but the
    loop's takes the interpreter lock, and the loop wakes once per burst.
    Elsewhere a native thread hands the events over with
    ``call_soon_threadsafe``, still once per burst. With ``on_event`` (a
    server's), socket events on Unix are ``on_event(namespace, sid, event,
    args, ack)`` calls rather than ``('event', ...)`` tuples for
    ``dispatch``."""

    def __init__(self, dispatch, name, on_event=None):
        self._dispatch = dispatch
        self._loop = None
        self._reading = False
        if os.name == 'posix':
            self.pool = _native.Pool.for_loop(dispatch, None, on_event)
            self._events = None
        else:
            self.pool = _native.Pool(self._put, 1, name)
            self._events = collections.deque()
            self._wake_pending = False
        track_pool(self.pool)

    def bind(self, loop):
        """Runs the jobs on ``loop`` from now on (they wait until a loop is
        bound)."""
        if loop is self._loop:
            return
        self._unwatch()
        self._loop = loop
        if self._events is None:
            loop.add_reader(self.pool.wake_fd(), self._run)
            self._reading = True
            # Jobs queued before the loop was bound wait for no wake-up.
            loop.call_soon(self._run)
        elif self._events:
            self._wake_pending = True
            loop.call_soon(self._drain)

    def close(self):
        """Stops the pool (queued jobs are dropped) and unwatches the pipe."""
        self.pool.close()
        self._unwatch()

    def _unwatch(self):
        loop = self._loop
        if self._reading and loop is not None and not loop.is_closed():
            loop.remove_reader(self.pool.wake_fd())
        self._reading = False

    def _run(self):
        self.pool.run_pending()

    # -- without Unix pipes: a native thread calls _put ------------------

    def _put(self, ev):
        self._events.append(ev)
        loop = self._loop
        if self._wake_pending or loop is None:
            return
        self._wake_pending = True
        try:
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:
            self._events.clear()  # the loop is closed: nobody is left to handle it

    def _drain(self):
        # Cleared first: an event queued while draining either is taken by
        # this loop or schedules another drain.
        self._wake_pending = False
        events = self._events
        while events:
            self._dispatch(events.popleft())


class Reason:
    """Disconnect reasons, as python-socketio's ``reason`` attribute."""
    CLIENT_DISCONNECT = 'client disconnect'
    SERVER_DISCONNECT = 'server disconnect'
    PING_TIMEOUT = 'ping timeout'
    TRANSPORT_CLOSE = 'transport close'
    TRANSPORT_ERROR = 'transport error'


class Handlers:
    """Event handlers by namespace, and class-based namespaces."""

    reserved_events: 'tuple[str, ...]' = ()
    reason = Reason

    def __init__(self, logger=False):
        self.handlers = {}
        self.namespace_handlers = {}
        self.logger = make_logger(logger)
        self._lock = threading.RLock()

    def on(self, event, handler=None, namespace=None):
        """Registers an event handler; usable as a decorator
        (``@sio.on('event')``). ``'*'`` as the event catches every event
        without a handler of its own; ``'*'`` as the namespace, every
        namespace."""
        namespace = namespace or '/'

        def set_handler(handler):
            with self._lock:
                self.handlers.setdefault(namespace, {})[event] = handler
            self._handlers_changed(namespace)
            return handler

        if handler is None:
            return set_handler
        set_handler(handler)
        return None

    def event(self, *args, **kwargs):
        """Registers a handler named after the function
        (``@sio.event`` or ``@sio.event(namespace='/chat')``)."""
        if len(args) == 1 and len(kwargs) == 0 and callable(args[0]):
            return self.on(args[0].__name__)(args[0])

        def set_handler(handler):
            return self.on(handler.__name__, *args, **kwargs)(handler)

        return set_handler

    def register_namespace(self, namespace_handler):
        """Registers a class-based namespace."""
        if hasattr(namespace_handler, '_set_server'):
            namespace_handler._set_server(self)
        else:
            namespace_handler._set_client(self)
        with self._lock:
            self.namespace_handlers[namespace_handler.namespace] = namespace_handler
        self._handlers_changed(namespace_handler.namespace)

    def _handlers_changed(self, namespace):
        """Hook: tells the native side."""

    def _event_names(self, namespace):
        """The event names handled in a namespace, and whether a catch-all
        (or a class-based namespace) takes the others."""
        names = set()
        catch_all = False
        with self._lock:
            for ns in (namespace, '*'):
                for name in self.handlers.get(ns, {}):
                    if name == '*':
                        catch_all = True
                    else:
                        names.add(name)
                nh = self.namespace_handlers.get(ns)
                if nh is not None:
                    catch_all = True
                    names.update(a[3:] for a in dir(nh)
                                 if a.startswith('on_') and callable(getattr(nh, a, None)))
        names.discard('*')
        return sorted(n for n in names if n not in self.reserved_events), catch_all

    def _namespaces(self):
        with self._lock:
            return [n for n in set(self.handlers) | set(self.namespace_handlers) if n != '*']

    def _get_event_handler(self, event, namespace, args):
        """python-socketio's resolution: the namespace's handler, the
        namespace's catch-all, the ``'*'`` namespace's handler, then its
        catch-all."""
        handler = None
        with self._lock:
            if namespace in self.handlers:
                if event in self.handlers[namespace]:
                    handler = self.handlers[namespace][event]
                elif event not in self.reserved_events and '*' in self.handlers[namespace]:
                    handler = self.handlers[namespace]['*']
                    args = (event, *args)
            if handler is None and '*' in self.handlers:
                if event in self.handlers['*']:
                    handler = self.handlers['*'][event]
                    args = (namespace, *args)
                elif event not in self.reserved_events and '*' in self.handlers['*']:
                    handler = self.handlers['*']['*']
                    args = (event, namespace, *args)
        return handler, args

    def _get_namespace_handler(self, namespace, args):
        with self._lock:
            handler = self.namespace_handlers.get(namespace)
            if handler is None and '*' in self.namespace_handlers:
                handler = self.namespace_handlers['*']
                args = (namespace, *args)
        return handler, args
