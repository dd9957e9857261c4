"""material_files: a material may carry a file (图解, video, PDF, DOCX, XLSX, PPTX)

Revision ID: 0015_material_files
Revises: 0014_search

A material had to be UTF-8 text, so a graphic or a video could not be attached, signed or
downloaded. The file itself lives in the blob store, content-addressed by SHA-256; the row
keeps its hash (indexed: a blob is removed only when no material refers to it), size, the
type sniffed from its content and the name it was uploaded with.
"""
from alembic import op
import sqlalchemy as sa


revision = "0015_material_files"
down_revision = "0014_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("file_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("file_type", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("file_name", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_materials_file_sha256"), ["file_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_materials_file_sha256"))
        batch_op.drop_column("file_name")
        batch_op.drop_column("file_type")
        batch_op.drop_column("file_size")
        batch_op.drop_column("file_sha256")
