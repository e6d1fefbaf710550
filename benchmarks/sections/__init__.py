"""``make bench``'s sections, one module each, named as docs/benchmarks.md titles them."""
