"""Documents: the commands and reads of the lifecycle, one service for every interface."""

from workflow.services.documents.bulk_import import DocumentImport
from workflow.services.documents.commands import DocumentCommands
from workflow.services.documents.corrections import Corrections
from workflow.services.documents.files import DocumentFiles
from workflow.services.documents.package import DocumentPackage
from workflow.services.documents.reads import DocumentReads
from workflow.services.documents.search import DocumentSearch
from workflow.services.documents.transaction import Outcome


class Workflow(
    DocumentCommands,
    DocumentPackage,
    Corrections,
    DocumentReads,
    DocumentSearch,
    DocumentImport,
    DocumentFiles,
):
    """Commands and reads on documents. Interfaces (CLI, HTTP, workers) hold one of these."""


__all__ = [
    "Corrections",
    "DocumentCommands",
    "DocumentFiles",
    "DocumentImport",
    "DocumentPackage",
    "DocumentReads",
    "DocumentSearch",
    "Outcome",
    "Workflow",
]
