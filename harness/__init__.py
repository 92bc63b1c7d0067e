"""Shared BDD world, assertion helpers and the one step table used by behave and pytest-bdd."""
