"""Timing and fan-out of the membership protocol.

The three profiles are memberlist's ``DefaultLANConfig``, ``DefaultWANConfig``
and ``DefaultLocalConfig``. All durations are in seconds.
"""

import attrs


@attrs.frozen
class SwimConfig:
    # Failure detection (SWIM).
    probe_interval: float = 1.0
    probe_timeout: float = 0.5  # wait this long for a direct ack before asking others
    indirect_checks: int = 3  # how many members relay a ping when the direct one fails

    # Suspicion (Lifeguard): the timeout starts at max and shrinks toward min
    # as independent confirmations arrive. min = suspicion_mult *
    # max(1, log10 N) * probe_interval; max = suspicion_max_timeout_mult * min.
    suspicion_mult: int = 4
    suspicion_max_timeout_mult: int = 6

    # Local health awareness (Lifeguard): the probe interval is multiplied by
    # (score + 1), with the score kept in 0 .. awareness_max_multiplier - 1.
    awareness_max_multiplier: int = 8

    # Dissemination.
    gossip_interval: float = 0.2
    gossip_nodes: int = 3
    retransmit_mult: int = 4  # each broadcast is sent retransmit_mult * ceil(log10(N+1)) times
    gossip_to_the_dead_time: float = 30.0  # keep gossiping to the recently dead

    # When the direct ping fails, also try one over a stream (TCP), as
    # memberlist does unless DisableTcpPings: a member that UDP cannot reach
    # but TCP can is not declared failed.
    disable_tcp_pings: bool = False

    # Anti-entropy: full-state exchange over a stream, interval scaled with N.
    push_pull_interval: float = 30.0
    tcp_timeout: float = 10.0

    # Datagram size budget (before encryption and compound framing).
    udp_buffer_size: int = 1400

    # A member known as dead may come back under another address only after
    # this long (0: never; a member that left may always).
    dead_node_reclaim_time: float = 0.0

    @classmethod
    def lan(cls) -> "SwimConfig":
        """memberlist's LAN defaults, which Consul uses for its LAN pool (8301)."""
        return cls()

    @classmethod
    def wan(cls) -> "SwimConfig":
        """memberlist's WAN defaults."""
        return cls(
            probe_interval=5.0,
            probe_timeout=3.0,
            suspicion_mult=6,
            gossip_interval=0.5,
            gossip_nodes=4,
            push_pull_interval=60.0,
            tcp_timeout=30.0,
            gossip_to_the_dead_time=60.0,
        )

    @classmethod
    def consul_wan(cls) -> "SwimConfig":
        """Consul's WAN pool (8302): memberlist's WAN timings, but Consul's
        config defaults set gossip_nodes to 3 (retransmit_mult stays 4)."""
        return attrs.evolve(cls.wan(), gossip_nodes=3)

    @classmethod
    def local(cls) -> "SwimConfig":
        """memberlist's Local (loopback) defaults."""
        return cls(
            probe_interval=1.0,
            probe_timeout=0.2,
            indirect_checks=1,
            suspicion_mult=3,
            gossip_interval=0.1,
            retransmit_mult=2,
            push_pull_interval=15.0,
            tcp_timeout=1.0,
            gossip_to_the_dead_time=15.0,
        )
