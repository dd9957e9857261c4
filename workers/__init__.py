"""Celery workers: thin tasks that call workflow and notification services.

``celery -A workers worker`` (add ``-B`` for the embedded beat) finds :data:`app` here.
"""

from workers.app import app, make_app

__all__ = ["app", "make_app"]
