"""The web UI: static HTML, CSS and JavaScript modules (``static/``) that use
only Consul's public HTTP API, and the small resource that serves them on the
agent's HTTP port under ``ui_config.content_path`` (``/ui/``)."""
