"""The shared library: the only package a service may import."""
