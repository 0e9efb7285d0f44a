"""Reliability scenarios (issue 7): each bounded in count and time, reduced by default."""
