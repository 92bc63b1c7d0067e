"""@process steps of admission against a live manager: long polls, disconnects, drains.

Placeholder: the live admission steps land here (OC-ADM-*).
"""
