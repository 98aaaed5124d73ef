"""ragwacht.ci."""
