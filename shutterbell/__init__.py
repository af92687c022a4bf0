"""Shutterbell's domain package: plain modules that views, RQ jobs and CLI commands share.

Nothing in here reads the HTTP request; callers pass plain values in.
"""
