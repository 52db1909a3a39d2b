"""Plumbing the CRM target tests share: building plans and goldens (``harness``), replaying
plans on the local HTTP fakes of ``funnelc.fakes`` (``harness.AmoAccount`` /
``harness.B24Portal``, sent by ``funnelc.crm.send``), and reading diagnostic case files
(``casefiles``).  The fakes are written from the vendors' behaviour (crm-apis.md §0), not from
the emitters, so a plan that replays cleanly was checked against an independent reading.
"""
