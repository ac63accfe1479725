"""The DNS interface: the agent's ``.consul`` authority on port 8600.

Pure parts first, the Twisted adapters last:

- ``names``: a question's name read as Consul reads it (service, node, addr,
  query, reverse lookups), or why it is not one.
- ``records``: the resource records Consul builds from catalog entries.
- ``answers``: the whole answer to a question, from the catalog data it
  needs (NXDOMAIN, NOERROR with the SOA, health filtering, weights).
- ``trim``: Consul's trimming of answers that do not fit a UDP or TCP reply.
- ``wire``: encoding a reply, and the prepared replies of the fast path.
- ``source``: the catalog reads behind the answers, from the agent cache.
- ``authority``: a question to a reply, putting the above together.
- ``server``: twisted.names' server and protocols, the fast path in front of
  them, and forwarding to recursors.
"""
