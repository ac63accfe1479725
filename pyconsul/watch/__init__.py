"""Consul's watches: a view of the data, followed with blocking queries, and a
handler run whenever the view changes.

* :mod:`.spec` reads a watch's parameters (the ``watches`` entries of the
  agent's configuration, or the flags of ``pyconsul watch``) with Consul's
  rules and messages, into a :class:`~.spec.Query` and a handler.
* :mod:`.plan` is the pure core: which request to send next, and what an
  answer or a failure means (run the handler, wait and retry, or just ask
  again), as Consul's ``api/watch`` plan decides it.
* :mod:`.runner` drives a plan on Twisted against the agent's own HTTP API;
  :mod:`.handlers` runs the agent's script and HTTP handlers;
  :mod:`.service` holds the agent's set of watches (started once the HTTP
  API listens, replaced on reload, stopped first on shutdown).

``pyconsul watch`` (:mod:`pyconsul.cli.watch`) drives the same plan with the
command line's synchronous HTTP client.
"""
