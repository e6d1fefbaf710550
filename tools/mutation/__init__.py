"""Mutation testing of the refresher and the consumer package (make mutate)."""
