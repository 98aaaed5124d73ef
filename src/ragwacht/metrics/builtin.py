"""Imports every built-in metric module so that they register themselves."""
