"""Emails: the transactional outbox, recipients, templates and transports (SMTP, mail folder)."""
