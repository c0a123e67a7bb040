"""Client managers: how several servers share their clients.

python-socketio scales out with ``client_manager=socketio.RedisManager(url)``;
here the same call joins a Redis cluster through socketio-rs's Redis adapter,
which speaks the wire protocol of the Node ``@socket.io/redis-adapter``
(``flavour='classic'``), so Python, Rust and Node servers can share one
cluster. python-socketio's own Redis message format is not spoken: a
cluster mixes socketio_rs servers with Node or Rust ones, not with
python-socketio ones.
"""


class RedisManager:
    """Shares broadcasts, rooms and cluster requests with the other servers
    through the Redis at ``url``.

    ``channel`` is the channel prefix (the Node adapter's ``key``; the
    default, ``'socket.io'``, is the Node adapter's, so a Node server with
    default options joins the same cluster). ``flavour`` names the Node
    adapter protocol: ``'classic'`` (``createAdapter``), ``'sharded'``
    (``createShardedAdapter``) or ``'streams'``
    (``@socket.io/redis-streams-adapter``).
    """

    def __init__(self, url='redis://localhost:6379/0', channel='socket.io',
                 write_only=False, logger=None, redis_options=None, flavour='classic'):
        if write_only:
            raise ValueError('write_only managers are not supported by socketio_rs')
        if flavour not in ('classic', 'sharded', 'streams'):
            raise ValueError(f'unknown Redis adapter flavour {flavour!r}')
        self.url = url
        self.channel = channel
        self.flavour = flavour
        self.redis_options = redis_options

    def native_options(self):
        """The server option the native layer reads."""
        return {'url': self.url, 'key': self.channel, 'flavour': self.flavour}


class AsyncRedisManager(RedisManager):
    """The ``AsyncServer`` spelling of :class:`RedisManager`."""
