"""The agent: what runs on every node, whether it is a server or a client."""
