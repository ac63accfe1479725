"""The server role: Raft, the state store, and the RPC endpoints on top of them."""
