"""Local, real dependencies for tests and the demo: started on loopback, torn down cleanly."""
