"""Binds every feature under ``features/`` as pytest-bdd scenarios (same files behave runs)."""

from pytest_bdd import scenarios

scenarios("../../features")
