"""Twisted adapters: they move bytes and events between the reactor and the pure cores."""
