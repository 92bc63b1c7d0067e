"""Steps for #15 (placeholder filled in by its branch)."""
