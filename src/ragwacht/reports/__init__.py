"""ragwacht.reports."""
