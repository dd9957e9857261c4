"""robot_secrets: the units' robot webhooks and signing secrets encrypted at rest

Revision ID: 0017_robot_secrets
Revises: 0015_material_files

A WeCom webhook URL carries the key that lets anyone post to the group, a DingTalk webhook its
access token, and a DingTalk signing secret signs for it; they were stored in plain text in
``units``. From now on they are Fernet tokens (``fernet:…``) under the key in
``SANTONGBU_SECRETS_KEY_FILE`` (workflow/kernel/secretbox.py). With that key configured this
migration encrypts the values already there. Without it the values stay as they were and
nothing can reach a robot until the key is set and ``santongbu unit seal-secrets`` has run
(a robot delivery then fails with a one-line error saying so). No column changes: a token is
text too. Downgrading decrypts them again (the key is needed for that).
"""
import logging

import sqlalchemy as sa
from alembic import op

from workflow.kernel.secretbox import COLUMNS, is_sealed, plaintext_units, seal_stored, secret_box
from workflow.kernel.settings import Settings

revision = "0017_robot_secrets"
down_revision = "0016_outbox_context"
branch_labels = None
depends_on = None

log = logging.getLogger("santongbu.migrations")


def upgrade() -> None:
    connection = op.get_bind()
    box = secret_box(Settings())
    if box is not None:
        seal_stored(connection, box)
    elif plaintext_units(connection):
        log.warning(
            "robot credentials of %d unit(s) stay in plain text: set SANTONGBU_SECRETS_KEY_FILE and run "
            "santongbu unit seal-secrets",
            plaintext_units(connection),
        )


def downgrade() -> None:
    connection = op.get_bind()
    units = sa.table("units", sa.column("id"), *(sa.column(c) for c in COLUMNS))
    rows = connection.execute(sa.select(units)).mappings().all()
    if not any(is_sealed(row[c]) for row in rows for c in COLUMNS):
        return
    box = secret_box(Settings())
    if box is None:
        raise RuntimeError("downgrading 0017 decrypts the robot credentials: set SANTONGBU_SECRETS_KEY_FILE")
    for row in rows:
        opened = {c: box.open(row[c]) for c in COLUMNS if is_sealed(row[c])}
        if opened:
            connection.execute(sa.update(units).where(units.c.id == row["id"]).values(**opened))
