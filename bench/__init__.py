"""Benchmarks (not tests): `make bench-runtime` or `.venv/bin/python -m bench.runtime`."""
