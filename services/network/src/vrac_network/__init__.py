"""VRAC network: the child's support network, the care plan and its tasks."""
