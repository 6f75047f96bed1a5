"""Entrypoints: HTTP routes and Kafka subscribers, both thin."""
