"""ragwacht.metrics.judges."""
