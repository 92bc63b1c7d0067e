"""Renderers: the verdicts as terminal text, JSON, one HTML page and the generated YAML."""
