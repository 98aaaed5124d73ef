"""ragwacht.metrics."""
