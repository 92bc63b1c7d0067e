"""Steps of admission deciding on its own: queued lease requests, tiers, tenants, deadlines.

Placeholder: the decision-level admission steps land here (OC-ADM-*).
"""
