"""The docs test's reading of Markdown (tests/docs_support.py): which lines run, what each is
expected to print, how elisions compare and how the update mode rewrites a shown output."""

from __future__ import annotations

from pathlib import Path

from tests import docs_support as ds

DOC = """# Example

<!-- docs-test: files a.txt -->
```bash
santongbu db upgrade                      # comment
santongbu doc create --title "x" \\
    --body "y"
#  → document 1: created …   (exit 2)
curl -s $API/documents -d '{
  "title": "多行"}'
```
```json
{"document_id":1,"at":"2024-02-09T10:00:00Z"}
```

<!-- docs-test: skip — production -->
```bash
santongbu worker
```

```console
$ santongbu deadline --published 2019-09-27   # (exit 0)
published    2019-09-27
…
$ santongbu calendar show 2019
```

<!-- docs-test: output of: santongbu diagram -->
```mermaid
stateDiagram-v2
```
"""


def _parse(tmp_path: Path) -> ds.Document:
    path = tmp_path / "x.md"
    path.write_text(DOC, encoding="utf-8")
    return ds.parse(path)


def test_commands_continuations_quotes_and_skips(tmp_path: Path) -> None:
    doc = _parse(tmp_path)
    texts = [c.text for c in doc.commands]
    assert texts[0].startswith("santongbu db upgrade")
    assert texts[1] == 'santongbu doc create --title "x" --body "y"'
    assert texts[2].endswith('"title": "多行"}\'') and "\n" in texts[2]
    assert not any("worker" in t for t in texts)
    assert doc.commands[1].expected_rc == 2 and doc.commands[1].quotes == ["document 1: created …"]
    assert doc.commands[2].shown == ['{"document_id":1,"at":"2024-02-09T10:00:00Z"}']
    assert doc.commands[3].shown == ["published    2019-09-27", "…"]
    assert doc.commands[4].shown is None
    assert doc.commands[5].hidden and doc.commands[5].text == "santongbu diagram"
    assert doc.files == ["a.txt"]


def test_elisions_and_normalisation() -> None:
    shown = ["head", "…", "tail x…"]
    assert ds.shown_matches(shown, "head\nmiddle\nmore\ntail xyz\n", ())
    assert not ds.shown_matches(shown, "head\ntail\n", ())
    at = ['{"at":"2024-02-09T10:00:00Z"}']
    assert not ds.shown_matches(at, '{"at":"2026-11-27T18:13:27.9Z"}', ())
    assert ds.shown_matches(at, '{"at":"2026-11-27T18:13:27.9Z"}', ("instants",))
    assert ds.quotes_missing(["document 1: created …"], "document 1:  created (draft)") == []
    assert ds.quotes_missing(["version 14"], "version 17") == ["version 14"]


def test_update_mode_rewrites_whole_and_elided_outputs() -> None:
    assert ds.rewritten(["old", ""], "new 1\nnew 2\n") == ["new 1", "new 2", ""]
    assert ds.rewritten(["first", "…", "last line 2"], "first\nx\ny\nlast line 3\n") == [
        "first",
        "…",
        "last line 3",
    ]
    quote = "#  → document 1: created (version 1)"
    assert ds.requoted(quote, "document 1: created (version 2)\n") == "#  → document 1: created (version 2)"
