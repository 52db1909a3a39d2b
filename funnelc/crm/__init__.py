"""Talking to the CRMs: sending import plans (``send``)."""
