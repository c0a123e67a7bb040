"""The Python servers of the benchmarks: our binding's AsyncServer on the
Rust HTTP server or attached to an aiohttp app, or python-socketio's
AsyncServer on aiohttp (its fastest setup), with the same handlers.

    python bench/python/server.py socketio-rs     127.0.0.1:PORT
    python bench/python/server.py socketio-rs-aiohttp 127.0.0.1:PORT
    python bench/python/server.py python-socketio 127.0.0.1:PORT
    python bench/python/server.py socketio-rs-uvicorn 127.0.0.1:PORT
    python bench/python/server.py python-socketio-uvicorn 127.0.0.1:PORT

(the last two: each module's ASGIApp under uvicorn, its default protocols)

    echo(payload, ack)    ack(payload)
    broadcast(payload)    emit("broadcast", payload) to everyone

Prints one JSON line with the versions once listening.
"""

import asyncio
import json
import sys


def handlers(sio):
    @sio.event
    async def echo(sid, data):
        return data

    @sio.event
    async def broadcast(sid, data):
        await sio.emit('broadcast', data)


async def ours(host, port):
    import socketio_rs
    sio = socketio_rs.AsyncServer()
    handlers(sio)
    await sio.listen(host, port)
    print(json.dumps({'server': 'socketio_rs', 'version': socketio_rs.__version__,
                      'python': sys.version.split()[0]}), flush=True)
    await sio.wait()


async def on_aiohttp(module, host, port, info):
    """Serves an AsyncServer of `module` (ours or python-socketio's),
    attached to an aiohttp app; prints `info` with the Python version."""
    from aiohttp import web
    sio = module.AsyncServer(async_mode='aiohttp')
    handlers(sio)
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(json.dumps({**info, 'python': sys.version.split()[0]}), flush=True)
    await asyncio.Event().wait()


async def ours_aiohttp(host, port):
    import socketio_rs
    await on_aiohttp(socketio_rs, host, port,
                     {'server': 'socketio_rs (aiohttp)', 'version': socketio_rs.__version__})


async def theirs(host, port):
    import aiohttp
    import socketio
    from importlib.metadata import version
    await on_aiohttp(socketio, host, port,
                     {'server': 'python-socketio', 'version': version('python-socketio'),
                      'aiohttp': aiohttp.__version__})


async def on_uvicorn(module, host, port, info):
    """Serves an AsyncServer of `module` as its ASGIApp under uvicorn (the
    protocols `--ws auto` picks); prints `info` with the versions."""
    import uvicorn
    sio = module.AsyncServer(async_mode='asgi')
    handlers(sio)
    server = uvicorn.Server(uvicorn.Config(
        module.ASGIApp(sio), host=host, port=port, log_level='warning',
        access_log=False, lifespan='off'))
    serving = asyncio.ensure_future(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
            raise SystemExit('uvicorn stopped')
        await asyncio.sleep(0.01)
    print(json.dumps({**info, 'uvicorn': uvicorn.__version__,
                      'python': sys.version.split()[0]}), flush=True)
    await serving


async def ours_uvicorn(host, port):
    import socketio_rs
    await on_uvicorn(socketio_rs, host, port,
                     {'server': 'socketio_rs (uvicorn)', 'version': socketio_rs.__version__})


async def theirs_uvicorn(host, port):
    import socketio
    from importlib.metadata import version
    await on_uvicorn(socketio, host, port,
                     {'server': 'python-socketio (uvicorn)', 'version': version('python-socketio')})


def main():
    kind = sys.argv[1]
    host, _, port = sys.argv[2].rpartition(':')
    run = {'socketio-rs': ours, 'socketio-rs-aiohttp': ours_aiohttp,
           'python-socketio': theirs, 'socketio-rs-uvicorn': ours_uvicorn,
           'python-socketio-uvicorn': theirs_uvicorn}[kind]
    asyncio.run(run(host, int(port)))


if __name__ == '__main__':
    main()
