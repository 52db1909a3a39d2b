"""``python -m funnelc`` runs the command line exactly as the ``funnelc`` console script does
(:func:`funnelc.console.run`: the garbage collector off, ``os._exit`` after flushing)."""

from funnelc.console import run

run()
