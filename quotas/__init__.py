"""Service packages, the firmware-update token ledger and update campaigns."""
