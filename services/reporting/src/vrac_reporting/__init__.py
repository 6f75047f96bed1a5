"""VRAC reporting: per-pilot monthly read models built from the public events."""
