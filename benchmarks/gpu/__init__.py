"""Benchmarks for a GPU machine without TensorFlow."""
