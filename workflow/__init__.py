"""The application layer of Santongbu: models, services, calendar, audit, CLI and HTTP API.

Every change follows one path: an interface (CLI, HTTP, worker) calls a service here, the
service asks :mod:`states` whether the change is allowed, and one database transaction writes
the document, its audit event and any outbox rows.
"""
