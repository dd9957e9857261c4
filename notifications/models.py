"""The outbox table (owned by the notifications issue; see notifications/outbox.py)."""
