"""Metering's state changes by stage: ingest.py (with rows.py, how an event is stored, and
bulk.py, the file ingest on every core), rollups.py (live device rollups), reports.py (monthly
usage reports)."""
