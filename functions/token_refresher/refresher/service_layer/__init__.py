"""Runs the domain's decisions over its ports: one account's refresh, and a fleet's."""
