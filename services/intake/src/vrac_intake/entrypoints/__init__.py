"""How the world reaches intake: its HTTP API (intake consumes no events)."""
