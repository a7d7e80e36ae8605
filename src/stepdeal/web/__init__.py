"""Layer 7 (interfaces): the local web app — a thin JSON API over the library."""
