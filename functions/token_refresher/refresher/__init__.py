"""Keeps a live JOOR V4 access token in SSM Parameter Store."""
