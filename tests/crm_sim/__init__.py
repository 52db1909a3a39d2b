"""In-memory models of the CRMs' documented rules, for replaying funnelc's import plans.

Each model plays two parts: the CRM (it enforces what ``../shared/crm-apis.md`` documents
and rejects what breaks it) and the pusher that a later issue will write (it sends a plan's
requests in order, resolves references, honours ``unless_exists``, ``merge`` and ``expect``).
Nothing here is imported by funnelc itself; the models are written from the API docs, not from
the emitters, so a plan that replays cleanly was checked against an independent reading.
"""
