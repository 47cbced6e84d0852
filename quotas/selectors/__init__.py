"""The quotas app's reads by stage: packages.py (packages and the ledger), campaigns.py,
months.py (which months have a usage report, and why not), reports.py (monthly usage reports)."""
