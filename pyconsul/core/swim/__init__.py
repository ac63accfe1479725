"""Pure gossip membership, modelled on hashicorp/memberlist (SWIM + Lifeguard).

Import from the modules themselves:

- ``node.Membership``: the state machine (inputs in, effects out).
- ``config.SwimConfig``: LAN, WAN and Local timing profiles.
- ``messages``: what travels on the wire (the codec turns them into bytes).
- ``effects``: what the core asks its driver to do, and the events it reports.

Driving it (what a UDP/TCP adapter does; ``pyconsul.testing.gossip`` does
the same in memory)::

    datagram in:   messages = decode_packet(keyring.open(data))   # CodecError: count, drop
                   carry_out(core.handle_packet(sender, messages, now))
    stream in:     carry_out(core.handle_stream(conn, sender, decode_message(frame), now))
    stream reply:  carry_out(core.handle_stream_reply(exchange_id, message, now))
    stream error:  carry_out(core.stream_failed(exchange_id, reason, now))
    timer:         carry_out(core.tick(now)) once now >= core.next_deadline()

After every call, re-arm one timer at ``core.next_deadline()``. Effects are
carried out in order: ``SendPacket`` -> ``keyring.seal(pack_packet(parts))``
and send; ``OpenStream`` / ``ReplyStream`` -> stream frames; everything else
is an event for the layer above (the Serf layer, ``pyconsul.core.serf``,
which wraps this core with the same interface).

This package imports nothing at package level so that the codec, which
imports the message types, and the core, which uses the codec to size its
packets, can load in either order.
"""
