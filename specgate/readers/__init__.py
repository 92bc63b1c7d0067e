"""Readers: Markdown specs, generated YAML, feature files, results files and step modules,
each read once into ``specgate.model``."""
