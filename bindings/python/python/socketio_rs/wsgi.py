"""``WSGIApp`` (and its older name ``Middleware``): serves a ``Server`` inside
a WSGI server, as python-socketio's ``socketio.WSGIApp``.

Long-polling requests are answered by the Rust Engine.IO service
in-process while the WSGI worker thread waits (the interpreter released).
A WebSocket connection needs the WSGI server's socket, as python-engineio's
threading mode: gunicorn (``environ['gunicorn.socket']``, threaded
``gthread`` workers) and werkzeug's server (``environ['werkzeug.socket']``,
Flask's ``app.run(threaded=True)``) expose it; the engine then answers the
upgrade and owns the connection, and the worker thread waits until it
ended. Under other WSGI servers the upgrade is refused with 400 (clients
stay on long-polling). Other paths go to ``static_files``, then
``wsgi_app`` (404 without one).
"""

import http
import os
import select
import socket
from urllib.parse import quote

from ._static import read_static_file

#: How long the worker thread waits at a time before checking that a
#: long-polling client is still connected.
POLL_SLICE = 1.0

# Headers a WSGI application must not set (PEP 3333): the WSGI server
# frames the response itself.
_HOP_BY_HOP = frozenset((
    'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te',
    'trailers', 'trailer', 'transfer-encoding', 'upgrade',
))

# Request headers the rebuilt WebSocket request does not carry (a GET
# upgrade has no body).
_NO_BODY = frozenset((b'content-length', b'transfer-encoding'))


class WSGIApp:
    """A WSGI application serving ``socketio_app`` (a ``Server``) under
    ``/socketio_path/``; ``static_files`` as python-engineio's; everything
    else goes to ``wsgi_app`` (404 without one)."""

    def __init__(self, socketio_app, wsgi_app=None, static_files=None,
                 socketio_path='socket.io'):
        if getattr(socketio_app, '_asyncio_based', False):
            raise ValueError('WSGIApp serves a socketio_rs.Server; use ASGIApp for an '
                             'AsyncServer')
        self.engineio_app = self.sio = socketio_app
        self.wsgi_app = wsgi_app
        # None: every request is the server's, whatever its path (an outer
        # layer routes them here); static_files and wsgi_app are then
        # ignored, as in python-engineio. The engine sees its default path.
        self.socketio_path = None if socketio_path is None else socketio_path.strip('/')
        self._engine_path = self.socketio_path or 'socket.io'
        self.engineio_path = '/' + self._engine_path + '/'
        self.static_files = static_files or {}
        self._warned = False
        self._checked = False

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO') or ''
        if self.socketio_path is None:
            # The engine matches its own path on PATH_INFO.
            environ = dict(environ, PATH_INFO=self.engineio_path)
        if self.socketio_path is None or path.startswith(self.engineio_path) \
                or path == self.engineio_path[:-1]:
            if not self._checked:
                self._checked = True
                if environ.get('wsgi.multithread') is False:
                    self.sio.logger.error(
                        'socketio_rs.WSGIApp: this WSGI server runs one request at a time; '
                        'a long-polling request or a WebSocket connection holds it: use '
                        'threads (gunicorn -k gthread --threads N, werkzeug threaded=True)')
            native = self.sio._get_native(self._engine_path)
            if _is_upgrade(environ):
                return self._websocket(native, environ, start_response)
            return self._http(native, environ, start_response)
        static = read_static_file(path, self.static_files) if self.static_files else None
        if static is not None:
            content_type, data = static
            start_response('200 OK', [('Content-Type', content_type),
                                      ('Content-Length', str(len(data)))])
            return [data]
        if self.wsgi_app is not None:
            return self.wsgi_app(environ, start_response)
        return self.not_found(start_response)

    def not_found(self, start_response):
        start_response('404 Not Found', [('Content-Type', 'text/plain')])
        return [b'Not Found']

    # -- long-polling --------------------------------------------------------

    def _http(self, native, environ, start_response):
        body = _read_body(environ)
        headers = [(k, v) for k, v in _headers(environ) if k not in _NO_BODY]
        if body or environ.get('REQUEST_METHOD') == 'POST':
            headers.append((b'content-length', str(len(body)).encode()))
        call = native.wsgi_http(environ.get('REQUEST_METHOD', 'GET'), _uri(environ), headers,
                                body, _client(environ))
        sock = _socket_of(environ)[0]
        while True:
            answer = call.wait(POLL_SLICE)
            if answer is not None:
                break
            if sock is not None and _peer_gone(sock):
                # A long-polling GET whose client left: the engine drops it,
                # which ends the session as when a client leaves listen()'s
                # server mid-poll. Nobody reads this answer.
                call.cancel()
                start_response('499 Client Closed Request', [('Content-Length', '0')])
                return []
        status, headers, payload = answer
        out = [(k, v.decode('latin-1')) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        if not any(k.lower() == 'content-length' for k, _ in out) and \
                status >= 200 and status not in (204, 304):
            out.append(('Content-Length', str(len(payload))))
        start_response(_status_line(status), out)
        return [payload]

    # -- WebSocket -----------------------------------------------------------

    def _websocket(self, native, environ, start_response):
        sock, mode = _socket_of(environ)
        problem = None
        if sock is None:
            problem = ('this WSGI server does not expose its socket (gunicorn and werkzeug '
                       'do): WebSocket is refused, clients stay on long-polling')
        elif os.name != 'posix':
            problem = 'WebSocket under a WSGI server needs a Unix platform: it is refused'
        elif _is_tls(sock):
            problem = ('the WSGI server\'s socket is a TLS one: WebSocket is refused, '
                       'clients stay on long-polling (terminate TLS in a proxy instead)')
        if problem is not None:
            log = self.sio.logger.info if self._warned else self.sio.logger.error
            self._warned = True
            log('socketio_rs.WSGIApp: %s', problem)
            body = b'WebSocket is not available under this WSGI server'
            start_response('400 Bad Request', [('Content-Type', 'text/plain'),
                                               ('Content-Length', str(len(body)))])
            return [body]
        head, client = _request_head(environ), _client(environ)
        fd = os.dup(sock.fileno())
        # The engine owns the descriptor from here on, even if this raises.
        conn = native.wsgi_socket(fd, sock.family == socket.AF_UNIX, head, client)
        try:
            while True:
                status = conn.wait(POLL_SLICE)
                if status is not None:
                    break
        finally:
            # Ends the connection if this thread is interrupted; a no-op
            # once over. The engine made the descriptor non-blocking, which
            # the WSGI server's socket shares: give it back its mode.
            conn.close()
            try:
                sock.settimeout(sock.gettimeout())
            except OSError:
                pass
        # The socket is shut down: the WSGI server can write nothing more on
        # it. gunicorn closes the connection on StopIteration without
        # writing a response (as simple-websocket does); werkzeug needs a
        # status, which then only reaches its access log (its write fails
        # as a dropped connection, which it ignores).
        if mode == 'gunicorn':
            raise StopIteration()
        start_response(_status_line(status or 500), [])
        return []


class Middleware(WSGIApp):
    """The older name of ``WSGIApp`` (python-socketio's, deprecated there)."""

    def __init__(self, socketio_app, wsgi_app=None, socketio_path='socket.io'):
        super().__init__(socketio_app, wsgi_app, socketio_path=socketio_path)


def _is_upgrade(environ):
    connection = [t.strip().lower() for t in environ.get('HTTP_CONNECTION', '').split(',')]
    return 'upgrade' in connection and \
        environ.get('HTTP_UPGRADE', '').strip().lower() == 'websocket'


def _socket_of(environ):
    for key, mode in (('werkzeug.socket', 'werkzeug'), ('gunicorn.socket', 'gunicorn')):
        sock = environ.get(key)
        if sock is not None and hasattr(sock, 'fileno'):
            return sock, mode
    return None, None


def _is_tls(sock):
    try:
        import ssl
    except ImportError:  # pragma: no cover - Python without ssl
        return False
    return isinstance(sock, ssl.SSLSocket)


def _latin1(value):
    if isinstance(value, bytes):
        return value
    try:
        return value.encode('latin-1')
    except UnicodeEncodeError:
        return value.encode('utf-8')


def _uri(environ):
    # PATH_INFO is relative to the mount point and already unquoted; the
    # engine matches the Socket.IO path on it.
    path = quote(_latin1(environ.get('PATH_INFO') or '/'), safe="/:@!$&'()*+,;=~")
    query = environ.get('QUERY_STRING')
    return path + '?' + query if query else path


def _headers(environ):
    out = []
    for key, value in environ.items():
        if key.startswith('HTTP_'):
            name = key[5:]
        elif key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
            if not value:
                continue
            name = key
        else:
            continue
        out.append((name.replace('_', '-').lower().encode('latin-1'), _latin1(value)))
    if 'HTTP_HOST' not in environ and environ.get('SERVER_NAME'):
        host = environ['SERVER_NAME']
        port = str(environ.get('SERVER_PORT') or '')
        default = '443' if environ.get('wsgi.url_scheme') == 'https' else '80'
        if port and port != default:
            host += ':' + port
        out.append((b'host', _latin1(host)))
    # The engine sees the request as a proxy would pass it on: a connection
    # that reached the WSGI server over TLS is marked as such, so the page's
    # https origin counts as the server's own.
    if environ.get('wsgi.url_scheme') == 'https' and 'HTTP_X_FORWARDED_PROTO' not in environ:
        out.append((b'x-forwarded-proto', b'https'))
    return out


def _client(environ):
    addr = environ.get('REMOTE_ADDR')
    if not addr:
        return None
    try:
        port = int(environ.get('REMOTE_PORT') or 0)
    except ValueError:
        port = 0
    return addr, port


def _read_body(environ):
    stream = environ.get('wsgi.input')
    if stream is None:
        return b''
    try:
        length = int(environ.get('CONTENT_LENGTH') or -1)
    except ValueError:
        length = -1
    if length >= 0:
        return stream.read(length) if length else b''
    if environ.get('wsgi.input_terminated'):
        return stream.read()
    return b''


def _request_head(environ):
    """The request line and headers the WSGI server read off the socket,
    for the engine to read them again."""
    lines = [b'%s %s HTTP/1.1' % (_latin1(environ.get('REQUEST_METHOD', 'GET')),
                                  _latin1(_uri(environ)))]
    for k, v in _headers(environ):
        if k not in _NO_BODY:
            lines.append(k + b': ' + v.replace(b'\r', b'').replace(b'\n', b''))
    return b'\r\n'.join(lines) + b'\r\n\r\n'


def _peer_gone(sock):
    """Whether the client closed its side of a connection that is waiting
    for its answer (nothing else arrives on it meanwhile)."""
    if not hasattr(select, 'poll'):
        return False
    try:
        p = select.poll()
        p.register(sock.fileno(), select.POLLIN | getattr(select, 'POLLRDHUP', 0))
        events = p.poll(0)
    except (OSError, ValueError):
        return False
    if not events:
        return False
    ev = events[0][1]
    if ev & (select.POLLHUP | select.POLLERR | select.POLLNVAL |
             getattr(select, 'POLLRDHUP', 0)):
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK | getattr(socket, 'MSG_DONTWAIT', 0)) == b''
    except (BlockingIOError, InterruptedError, ValueError):
        return False  # nothing to read; or a TLS socket, which cannot peek
    except OSError:
        return True


def _status_line(status):
    try:
        return f'{status} {http.HTTPStatus(status).phrase}'
    except ValueError:
        return f'{status} Unknown'
