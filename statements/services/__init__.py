"""Statement changes by stage: poll.py, close.py, credits.py (runs.py: the statement runs they
share; chart_cache.py: the hourly charts built after a poll)."""
