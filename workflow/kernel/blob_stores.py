"""Which blob store the settings name: the folder (:mod:`workflow.kernel.blobs`) or an
S3-compatible store (:mod:`workflow.kernel.blobs_s3`, whose client is imported only then)."""

from __future__ import annotations

from workflow.kernel.blobs import BlobStore, FolderBlobStore
from workflow.kernel.settings import Settings


def blob_store_for(settings: Settings) -> BlobStore:
    """The store the settings name: ``SANTONGBU_BLOB_STORE=s3://bucket/prefix`` for an
    S3-compatible store, else the folder ``SANTONGBU_BLOB_FOLDER``."""
    if settings.blob_store:
        try:
            from workflow.kernel.blobs_s3 import s3_store  # boto3 is imported only when asked for
        except ImportError:
            raise RuntimeError(
                "SANTONGBU_BLOB_STORE names an S3 store but boto3 is not installed: "
                "pip install 'santongbu[s3]'"
            ) from None
        return s3_store(settings)
    return FolderBlobStore(settings.blob_folder)
