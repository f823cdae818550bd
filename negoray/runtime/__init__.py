"""The Ray runtime: the only layer that imports Ray."""
