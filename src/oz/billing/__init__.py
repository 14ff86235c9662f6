"""Billing: plans, credit pools, the append-only ledger and the key-type waterfall."""
