"""Licenses and the price catalog: license types, machine types, regions, pools and their
effective-dated hourly rates."""
