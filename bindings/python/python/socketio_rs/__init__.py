"""python-socketio's API on a Rust Socket.IO v5 server and client.

``import socketio_rs as socketio`` and python-socketio code runs on it.
"""

from . import exceptions
from ._native import __version__
from .asgi import ASGIApp
from .async_client import AsyncClient
from .async_server import AsyncServer
from .async_simple_client import AsyncSimpleClient
from .client import Client
from .managers import AsyncRedisManager, RedisManager
from .namespace import AsyncClientNamespace, AsyncNamespace, ClientNamespace, Namespace
from .server import Server
from .simple_client import SimpleClient
from .wsgi import Middleware, WSGIApp

__all__ = [
    '__version__', 'exceptions', 'Server', 'AsyncServer', 'Client', 'AsyncClient',
    'Namespace', 'AsyncNamespace', 'ClientNamespace', 'AsyncClientNamespace', 'ASGIApp',
    'RedisManager', 'AsyncRedisManager', 'SimpleClient', 'AsyncSimpleClient', 'WSGIApp',
    'Middleware',
]
