"""VRAC intake: family cases, the family's details and the parents' consent."""
