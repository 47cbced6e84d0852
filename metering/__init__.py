"""Usage: events and their ingest, rating into charges, and monthly usage reports."""
