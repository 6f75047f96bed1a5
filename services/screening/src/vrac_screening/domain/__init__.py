"""The screening domain: pure rules and aggregates, no I/O."""
