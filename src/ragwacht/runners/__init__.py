"""ragwacht.runners."""
