"""Layer 7: the ``stepdeal`` command line (a thin shell over the library)."""
