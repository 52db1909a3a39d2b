"""Continuous-integration helpers run by the GitHub Action (``action.yml``)."""
