"""The soak: the real refresh logic on a simulated clock for weeks, written up in docs/soak.md
(``make soak``); tests/soak runs short versions of it in every ``make test``."""
