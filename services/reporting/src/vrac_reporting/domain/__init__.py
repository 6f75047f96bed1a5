"""Pure reporting rules: what an event counts for, generations of read models, reports."""
