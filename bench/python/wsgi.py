"""The WSGI servers of the benchmarks: our binding's sync ``Server`` mounted
with ``socketio_rs.WSGIApp``, or python-socketio's ``Server`` in its
threading mode with ``socketio.WSGIApp``, both under gunicorn's threaded
workers (one process, as python-socketio's documentation deploys it), with
the handlers of server.py.

    python bench/python/wsgi.py socketio-rs     127.0.0.1:PORT
    python bench/python/wsgi.py python-socketio 127.0.0.1:PORT

WebSocket connections: ours are taken over by the Rust engine (the
gunicorn thread returns at once); python-socketio's each hold a gunicorn
thread (simple-websocket), hence the thread count.
"""

import json
import os
import sys

THREADS = 1100


def app_for(kind):
    if kind == 'socketio-rs':
        import socketio_rs as socketio
        sio = socketio.Server()
    else:
        import socketio
        sio = socketio.Server(async_mode='threading')

    @sio.event
    def echo(sid, data):
        return data

    @sio.event
    def broadcast(sid, data):
        sio.emit('broadcast', data)

    return socketio.WSGIApp(sio)


def main():
    kind, addr = sys.argv[1], sys.argv[2]
    if kind not in ('socketio-rs', 'python-socketio'):
        raise SystemExit(f'unknown server {kind!r}')
    from gunicorn.app.base import BaseApplication
    from importlib.metadata import version

    class App(BaseApplication):
        def load_config(self):
            for k, v in {'bind': addr, 'workers': 1, 'worker_class': 'gthread',
                         'threads': THREADS, 'accesslog': None, 'loglevel': 'warning',
                         'keepalive': 75}.items():
                self.cfg.set(k, v)

        def load(self):
            return app_for(kind)

    pkg = 'socketio-rs' if kind == 'socketio-rs' else 'python-socketio'
    print(json.dumps({'server': f'{kind} (WSGI, gunicorn gthread)', 'version': version(pkg),
                      'gunicorn': version('gunicorn'), 'python': sys.version.split()[0]}),
          flush=True)
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    App().run()


if __name__ == '__main__':
    main()
