"""ragwacht.datasets."""
