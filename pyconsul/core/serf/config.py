"""Timers and limits of the Serf layer (hashicorp/serf DefaultConfig, with Consul's
reconnect_timeout). Durations are in seconds."""

import attrs

HOUR = 3600.0
USER_EVENT_SANE_LIMIT = 9 * 1024  # serf's hard ceiling on a user event, whatever the config says


@attrs.frozen
class SerfConfig:
    reap_interval: float = 15.0  # how often failed and left members are checked for reaping
    reconnect_interval: float = 30.0  # how often we try to reach a failed member again
    reconnect_timeout: float = 72 * HOUR  # Consul's default (Serf's own is 24 h; minimum 8 h)
    tombstone_timeout: float = 24 * HOUR  # how long a left member is remembered
    broadcast_timeout: float = 5.0  # how long a leave waits for each of its messages to go out
    leave_propagate_delay: float = 1.0  # then how long it lingers so the news can spread
    recent_intent_timeout: float = 5 * 60.0  # intents about members we do not know yet
    max_recent_intents: int = 4096
    event_buffer: int = 512  # how many Lamport times of user events are remembered (de-duplication)
    user_event_size_limit: int = 512  # name + payload, and the encoded message, in bytes

    def __attrs_post_init__(self) -> None:
        if self.user_event_size_limit > USER_EVENT_SANE_LIMIT:
            raise ValueError(
                f"user event size limit exceeds limit of {USER_EVENT_SANE_LIMIT} bytes"
            )
        if self.event_buffer < 1:
            raise ValueError("the user event buffer needs at least one slot")
