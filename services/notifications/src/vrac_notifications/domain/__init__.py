"""The notifications domain: contacts, consent, messages due and their deliveries (no I/O)."""
