"""Adapters from the domain's ports to the outside systems (Secrets Manager, SSM, JOOR)."""
