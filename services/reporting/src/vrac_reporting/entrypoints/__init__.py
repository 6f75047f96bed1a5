"""How the world reaches reporting: Kafka subscribers and HTTP routes, both thin."""
