"""Serf-style membership on top of the gossip core: tags, Lamport-clocked
join/leave intents, alive/leaving/left/failed status, member events, reconnect
and reaping.

Import from the modules: ``node.SerfNode``, ``config.SerfConfig``,
``member.Member`` / ``member.MemberStatus``, ``events``, ``tags``.
"""
