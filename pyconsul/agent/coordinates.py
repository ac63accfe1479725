"""The agent sends its LAN coordinate to the servers (Consul's sendCoordinate).

Every interval -- the cluster size over ``sync_coordinate_rate_target``
updates a second, but at least ``sync_coordinate_interval_min``, plus a
random stagger of up to as much again -- the agent sends
``Coordinate.Update`` with its node name, segment "" and the coordinate its
LAN gossip has learnt. A failure is logged and the next round tries again.
Nothing is sent with coordinates disabled.
"""

from pyconsul import timers
from pyconsul.logs import Logger


def rate_scaled_interval(rate, minimum, nodes):
    """Consul's lib.RateScaledInterval: ``nodes / rate`` seconds, at least ``minimum``."""
    if rate <= 0:
        return minimum
    return max(minimum, nodes / rate)


class CoordinateSender:
    log = Logger()

    def __init__(self, config, lan, rpc, clock, rng):
        """``lan``: the LAN GossipDriver (its ``node`` is the SerfNode);
        ``rpc``: the agent's RPCRouter."""
        self.config = config
        self.lan = lan
        self.rpc = rpc
        self.clock = clock
        self.rng = rng
        self._timer = None
        self._running = False
        self.sent = 0  # for tests and metrics

    def start(self):
        if self.config.disable_coordinates:
            return
        self._running = True
        self._schedule()

    def stop(self):
        self._running = False
        self._timer = timers.cancel(self._timer)

    def interval(self):
        interval = rate_scaled_interval(self.config.sync_coordinate_rate_target,
                                        self.config.sync_coordinate_interval_min, len(self.lan.members()))
        return interval + self.rng.uniform(0, interval)

    def _schedule(self):
        if self._running:
            self._timer = self.clock.callLater(self.interval(), self._send)

    def _send(self):
        self._timer = None
        coordinate = self.lan.node.coordinate
        if coordinate is None:
            self._schedule()
            return
        args = {
            "Datacenter": self.config.datacenter,
            "Node": self.config.node_name,
            "Segment": "",
            "Coord": coordinate.to_dict(),
        }
        d = self.rpc.call("Coordinate.Update", args)

        def sent(_):
            self.sent += 1

        def failed(failure):
            self.log.error("Coordinate update error: {error}", error=failure.value)

        d.addCallbacks(sent, failed)
        d.addBoth(lambda _: self._schedule())
