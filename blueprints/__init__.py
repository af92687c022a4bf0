"""Thin views: load and authorize, validate, one domain call, respond."""
