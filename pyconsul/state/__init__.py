"""The replicated state: tables that Raft's committed commands change."""
