"""Methodology lint: checks a compiled project against the funnel-design principles M1–M14."""
