"""Thin entrypoints: HTTP routes and Kafka subscribers."""
