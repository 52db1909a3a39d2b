"""``python -m funnelc`` runs the command line."""

from funnelc.cli import main

main()
