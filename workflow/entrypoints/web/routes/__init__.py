"""The pages' routes, one module per audience: sign-in, documents (clerks and signers),
actions on a document, supervision (dashboard, reports, timelines)."""
