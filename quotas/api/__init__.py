"""The quotas API by stage: service packages and the quota, update campaigns, billing reports."""
