"""ragwacht.tracking."""
