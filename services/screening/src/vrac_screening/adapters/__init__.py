"""Adapters: the Mongo store and the diploma renderer."""
