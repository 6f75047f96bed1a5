"""The web app's pages, one module per kind of person (and one for signing in)."""
