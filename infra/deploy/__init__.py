"""Deploying the stack: the preflight checks and the refresh that follows a deploy."""
