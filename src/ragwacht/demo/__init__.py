"""ragwacht.demo."""
