"""The HTTP API (FastAPI): the same services as the CLI, for web pages and other systems."""
from .app import create_app

__all__ = ["create_app"]
