"""Adapters to the outside world: the Mongo store."""
