"""funnelc test suite."""
