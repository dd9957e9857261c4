"""Alembic environment: runs on the engine handed in by :func:`workflow.kernel.db.alembic_config`."""

from __future__ import annotations

from alembic import context

from workflow.kernel.models import Base, UTCDateTime
from workflow.kernel.search import not_search_object


def render_item(type_, obj, autogen_context):
    """Write UTCDateTime as a plain timestamptz so migrations never import model code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_object=not_search_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
