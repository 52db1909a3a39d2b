"""The funnelc language server (``funnelc lsp``)."""
