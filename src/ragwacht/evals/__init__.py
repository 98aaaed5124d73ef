"""ragwacht.evals."""
