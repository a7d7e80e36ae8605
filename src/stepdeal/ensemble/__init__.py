"""Layer 5: ensembles under uncertainty."""
