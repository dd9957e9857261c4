"""Evidence of postings (docs/evidence.md): fetch, check and keep the pages the portal and the
news media show. :mod:`.fetcher` fetches safely, :mod:`.checks` analyses a page (pure),
:mod:`.store` keeps the bytes, :mod:`.service` runs a check (:mod:`.due` says which pages are
due, :mod:`.recording` writes a result, :mod:`.results` holds what is handed back),
:mod:`.queries` reads them for the document page, the reports and the dashboard.

Nothing is imported here, so a reader of :mod:`.views` or :mod:`.queries` does not pull the
fetcher in (nor an import cycle with the documents service, which reads them).
"""
