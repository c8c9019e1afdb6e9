"""Benchmarks: `make bench` runs bench/run.py against a system started as `ticketing up` does."""
