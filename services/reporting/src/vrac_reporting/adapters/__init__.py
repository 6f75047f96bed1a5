"""Adapters: the Mongo read models, the Kafka replay source, the CSV renderer."""
