"""Shared pytest set-up: the real-infrastructure harness of the dev-only test kit."""

pytest_plugins = ["vrac_testing.fixtures"]
