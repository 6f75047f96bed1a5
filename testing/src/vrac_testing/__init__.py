"""The pytest harness every test of the platform uses (``pytest_plugins``)."""
