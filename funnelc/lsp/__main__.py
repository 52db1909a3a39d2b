"""``python -m funnelc.lsp``: the language server on stdio, like ``funnelc lsp``."""

from funnelc.lsp.server import main

main()
