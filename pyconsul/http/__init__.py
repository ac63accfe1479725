"""The HTTP API: Consul's /v1 endpoints on Klein."""
