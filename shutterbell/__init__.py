"""Shutterbell's domain package: plain modules that views, RQ jobs and CLI commands share.

Nothing in here reads ``flask.request``; callers pass plain values in.
"""
