"""``make bench``: what a run costs, measured side by side with the floor."""
