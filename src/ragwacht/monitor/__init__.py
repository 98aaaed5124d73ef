"""Monitoring of live traffic without gold answers: ingest, scrub, sample, score, alert."""
