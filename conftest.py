"""Shared pytest set-up: the real-infrastructure harness from the runtime library."""

pytest_plugins = ["vrac_runtime.testing.fixtures"]
