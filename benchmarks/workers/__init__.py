"""Scripts that ``make bench``'s sections run in fresh processes (benchmarks/harness.py's
``run_worker``); each writes its figures as JSON."""
