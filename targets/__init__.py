"""Output targets of funnelc, installed as ``funnelc.targets``.

Each module exposes ``TARGET`` (see :class:`funnelc.emit.Target`) and is registered by name in
:data:`funnelc.emit.REGISTRY`; modules are imported only when their target is requested.
"""
