"""pyconsul: Consul-compatible service discovery and configuration on Twisted."""

__version__ = "0.1.0"
