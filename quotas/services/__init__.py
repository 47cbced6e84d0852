"""The quotas app's state changes by stage: packages.py, campaigns.py (with ledger.py, the
ledger writes and package locks they share), reports.py (the monthly usage report job)."""
