"""``funnelc diff`` and ``funnelc breaking``: what changed between two versions of the funnels.

* :mod:`.model_diff` — a pure diff of two compiled projects into typed change records;
* :mod:`.git` — the old version read from a git revision (``git show``), no checkout touched;
* :mod:`.breaking` — the changes that would hurt a live CRM, as diagnostics F950–F979;
* :mod:`.render_human`, :mod:`.render_markdown`, :mod:`.render_json` — the three formats.

Importing the package imports nothing else: :mod:`funnelc.codes` reads :mod:`.codes` on every
run, and ``funnelc check`` must not pay for the diff.
"""
