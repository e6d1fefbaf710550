"""Scripts run in fresh processes by ``benchmarks.run``; each writes its figures as JSON."""
