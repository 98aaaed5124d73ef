"""ragwacht.stats."""
