"""Namespaces whose behaviour goes beyond the operation table (runs, waiting, outputs)."""
