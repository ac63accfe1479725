"""Pure gossip membership, modelled on hashicorp/memberlist (SWIM + Lifeguard).

Import from the modules themselves:

- ``node.Membership``: the state machine (inputs in, effects out).
- ``config.SwimConfig``: LAN, WAN and Local timing profiles.
- ``messages``: what travels on the wire (the codec turns them into bytes).
- ``effects``: what the core asks its driver to do, and the events it reports.

This package imports nothing at package level so that the codec, which
imports the message types, and the core, which uses the codec to size its
packets, can load in either order.
"""
