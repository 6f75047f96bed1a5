"""What intake talks to: its Mongo store (and, through the runtime, Kafka)."""
