"""The HTTP API (FastAPI): the same services as the CLI, for web pages and other systems."""

from workflow.entrypoints.api.app import create_app

__all__ = ["create_app"]
