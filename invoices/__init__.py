"""Invoices, payments, credit notes and the usage page."""
