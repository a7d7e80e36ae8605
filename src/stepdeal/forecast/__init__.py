"""Layer 6: stakeholder forecasts — compromise, BDM expected utility, KTAB's SMP."""
