"""Class-based namespaces: ``on_<event>`` methods handle events."""

import asyncio


class _Base:
    def __init__(self, namespace=None):
        self.namespace = namespace or '/'
        self.server = None
        self.client = None

    def _handler(self, event):
        return getattr(self, 'on_' + (event or ''), None)

    def trigger_event(self, event, *args):
        """Calls ``on_<event>``; the legacy ``connect``/``disconnect``
        signatures without their last argument are accepted."""
        handler = self._handler(event)
        if handler is None:
            return None
        try:
            return handler(*args)
        except TypeError:
            if event in ('connect', 'disconnect'):
                return handler(*args[:-1])
            raise


class Namespace(_Base):
    """A server namespace of a ``Server``."""

    def _set_server(self, server):
        self.server = server

    def emit(self, event, data=None, to=None, room=None, skip_sid=None, namespace=None,
             callback=None, ignore_queue=False):
        return self.server.emit(event, data=data, to=to, room=room, skip_sid=skip_sid,
                                namespace=namespace or self.namespace, callback=callback)

    def send(self, data, to=None, room=None, skip_sid=None, namespace=None, callback=None,
             ignore_queue=False):
        return self.server.send(data, to=to, room=room, skip_sid=skip_sid,
                                namespace=namespace or self.namespace, callback=callback)

    def call(self, event, data=None, to=None, sid=None, namespace=None, timeout=None,
             ignore_queue=False):
        return self.server.call(event, data=data, to=to, sid=sid,
                                namespace=namespace or self.namespace, timeout=timeout)

    def enter_room(self, sid, room, namespace=None):
        return self.server.enter_room(sid, room, namespace=namespace or self.namespace)

    def leave_room(self, sid, room, namespace=None):
        return self.server.leave_room(sid, room, namespace=namespace or self.namespace)

    def close_room(self, room, namespace=None):
        return self.server.close_room(room, namespace=namespace or self.namespace)

    def rooms(self, sid, namespace=None):
        return self.server.rooms(sid, namespace=namespace or self.namespace)

    def get_session(self, sid, namespace=None):
        return self.server.get_session(sid, namespace=namespace or self.namespace)

    def save_session(self, sid, session, namespace=None):
        return self.server.save_session(sid, session, namespace=namespace or self.namespace)

    def session(self, sid, namespace=None):
        return self.server.session(sid, namespace=namespace or self.namespace)

    def disconnect(self, sid, namespace=None):
        return self.server.disconnect(sid, namespace=namespace or self.namespace)


class AsyncNamespace(Namespace):
    """A server namespace of an ``AsyncServer``: ``on_<event>`` may be
    coroutines."""

    async def trigger_event(self, event, *args):
        handler = self._handler(event)
        if handler is None:
            return None
        try:
            r = handler(*args)
        except TypeError:
            if event not in ('connect', 'disconnect'):
                raise
            r = handler(*args[:-1])
        if asyncio.iscoroutine(r):
            r = await r
        return r


class ClientNamespace(_Base):
    """A namespace of a ``Client``."""

    def _set_client(self, client):
        self.client = client

    def emit(self, event, data=None, namespace=None, callback=None):
        return self.client.emit(event, data=data, namespace=namespace or self.namespace,
                                callback=callback)

    def send(self, data, namespace=None, callback=None):
        return self.client.send(data, namespace=namespace or self.namespace,
                                callback=callback)

    def call(self, event, data=None, namespace=None, timeout=None):
        return self.client.call(event, data=data, namespace=namespace or self.namespace,
                                timeout=timeout)

    def disconnect(self):
        return self.client.disconnect()


class AsyncClientNamespace(ClientNamespace):
    """A namespace of an ``AsyncClient``."""

    async def trigger_event(self, event, *args):
        handler = self._handler(event)
        if handler is None:
            return None
        try:
            r = handler(*args)
        except TypeError:
            if event not in ('connect', 'disconnect'):
                raise
            r = handler(*args[:-1])
        if asyncio.iscoroutine(r):
            r = await r
        return r
