"""stepdeal: design, stress-test and forecast step-by-step deals."""

__version__ = "0.1.0"
