"""What every VRAC service does the same way.

settings, logging, the Kafka broker with at-least-once settings, the outbox relay, idempotent
consumers with retry and dead-lettering, bearer-token auth, health endpoints and the service
process itself. Services import from the submodules; nothing here runs at import time.
"""
