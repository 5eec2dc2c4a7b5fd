"""The Redis pub/sub channel layer, decoding each message once per process instead of once per console, and
able to hand a message to a local channel without a round trip through Redis.

Pub/sub hands the same received bytes to the queue of every local channel in the group, and each consumer
would unpack them again: with 200 consoles that was a third of the web process's time. Consumers read the
decoded message and do not change it (OpsConsumer only adds its per-filter encodings, see consumers.py).
"""

from channels_redis.pubsub import RedisPubSubChannelLayer

DECODED_KEPT = 32


class SharedDecodePubSubChannelLayer(RedisPubSubChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._decoded: dict[int, tuple[bytes, dict]] = {}

    def deserialize(self, message: bytes) -> dict:
        hit = self._decoded.get(id(message))
        if hit is not None and hit[0] is message:  # the entry keeps `message` alive, so its id is not reused
            return hit[1]
        decoded = super().deserialize(message)
        if len(self._decoded) >= DECODED_KEPT:
            del self._decoded[next(iter(self._decoded))]
        self._decoded[id(message)] = (message, decoded)
        return decoded

    def send_local(self, channel: str, message: dict) -> None:
        """Queue `message` for a channel of this process and event loop, behind what Redis has already delivered
        to it. For messages the process makes for its own consumers (the head watch's tick): they must arrive
        while Redis is away or failing over, which is when consoles most need to catch up."""
        queue = self._get_layer().channels.get(channel)
        if queue is not None:  # None: the consumer has just gone
            queue.put_nowait(self.serialize(message))
