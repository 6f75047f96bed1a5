"""The intake domain: the case aggregate, its family and its consent history (no I/O)."""
