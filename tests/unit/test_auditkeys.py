"""Keys outside the database: keyring files, public keyrings, and signed anchors, on real files."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from workflow.kernel.auditkeys import (
    Anchor,
    Key,
    KeyFileError,
    canonical,
    generate_keyring,
    load_keyring,
    load_public_keyring,
    make_anchor,
    read_anchors,
    rotate_keyring,
    write_anchor,
    write_public_keyring,
)

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
H = "ab" * 32


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _rewrite(path: Path, data: Any, *, raw: str | None = None) -> None:
    path.write_text(raw if raw is not None else json.dumps(data))
    path.chmod(0o600)


# -- keyring file ---------------------------------------------------------------------------


def test_generate_then_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    made = generate_keyring(path, now=NOW.astimezone(timezone(timedelta(hours=8))))
    assert _mode(path) == 0o600
    assert not [p for p in tmp_path.iterdir() if p != path], "temp file left behind"
    entry = json.loads(path.read_text())["keys"][0]
    assert entry["created_at"] == "2025-03-04T09:30:00+00:00"
    assert len(base64.b64decode(entry["hmac_secret"])) == 32
    public_raw = base64.b64decode(made.active.public_key_b64)
    assert made.active.key_id == "k" + hashlib.sha256(public_raw).hexdigest()[:16]

    loaded = load_keyring(path)
    assert loaded.key_ids == made.key_ids == (made.active.key_id,)
    assert loaded.active.created_at == NOW
    assert loaded.active.mac(b"x") == made.active.mac(b"x")
    assert loaded.active.sign(b"x") == made.active.sign(b"x")  # Ed25519 is deterministic
    assert loaded.get(made.active.key_id).public_key_b64 == made.active.public_key_b64


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    generate_keyring(path, now=NOW)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        generate_keyring(path, now=NOW)
    assert path.read_bytes() == before


def test_generate_rejects_naive_time(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_keyring(tmp_path / "keys.json", now=datetime(2025, 1, 1))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_load_refuses_file_open_to_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.json"
    generate_keyring(path, now=NOW)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600") as e:
        load_keyring(path)
    assert str(path) in str(e.value)


def _valid_entry(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "good.json"
    generate_keyring(path, now=NOW)
    entry: dict[str, str] = json.loads(path.read_text())["keys"][0]
    return entry


def _other_entry(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "other.json"
    generate_keyring(path, now=NOW)
    entry: dict[str, str] = json.loads(path.read_text())["keys"][0]
    return entry


Mutation = Callable[[dict[str, str], dict[str, str]], Any]


def _without(name: str) -> Mutation:
    return lambda entry, other: {"keys": [{k: v for k, v in entry.items() if k != name}]}


B64_16 = base64.b64encode(b"\0" * 16).decode()

MALFORMED: list[tuple[str, Mutation, str]] = [
    ("not-json", lambda e, o: "{", "not valid JSON"),
    ("list-at-top", lambda e, o: [e], 'no "keys" list'),
    ("no-keys-field", lambda e, o: {"key": [e]}, 'no "keys" list'),
    ("empty", lambda e, o: {"keys": []}, "contains no keys"),
    ("entry-not-object", lambda e, o: {"keys": ["k1"]}, "key #1 is not a JSON object"),
    *[
        (f"missing-{name}", _without(name), f"has no {name} string")
        for name in ("key_id", "created_at", "hmac_secret", "ed25519_private")
    ],
    ("key_id-not-string", lambda e, o: {"keys": [{**e, "key_id": 7}]}, "has no key_id string"),
    (
        "created-not-iso",
        lambda e, o: {"keys": [{**e, "created_at": "yesterday"}]},
        "created_at that is not ISO 8601",
    ),
    (
        "created-naive",
        lambda e, o: {"keys": [{**e, "created_at": "2025-03-04T09:30:00"}]},
        "created_at without a UTC offset",
    ),
    ("hmac-not-b64", lambda e, o: {"keys": [{**e, "hmac_secret": "***"}]}, "hmac_secret that is not base64"),
    ("hmac-short", lambda e, o: {"keys": [{**e, "hmac_secret": B64_16}]}, "hmac_secret of 16 bytes, not 32"),
    (
        "private-not-b64",
        lambda e, o: {"keys": [{**e, "ed25519_private": "é"}]},
        "ed25519_private that is not base64",
    ),
    (
        "private-short",
        lambda e, o: {"keys": [{**e, "ed25519_private": B64_16}]},
        "ed25519_private of 16 bytes, not 32",
    ),
    ("key_id-mismatch", lambda e, o: {"keys": [{**e, "key_id": o["key_id"]}]}, "but its key gives"),
    ("duplicate", lambda e, o: {"keys": [e, o, e]}, "key #3 repeats key_id"),
]


@pytest.mark.parametrize(
    ("data", "problem"), [(m, p) for _, m, p in MALFORMED], ids=[name for name, _, _ in MALFORMED]
)
def test_malformed_keyring_names_the_problem(tmp_path: Path, data: Mutation, problem: str) -> None:
    path = tmp_path / "keys.json"
    content = data(_valid_entry(tmp_path), _other_entry(tmp_path))
    _rewrite(path, content, raw=content if isinstance(content, str) else None)
    with pytest.raises(KeyFileError, match=problem) as e:
        load_keyring(path)
    assert str(path) in str(e.value)


def test_missing_keyring_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(KeyFileError, match="does not exist") as e:
        load_keyring(path)
    assert str(path) in str(e.value)
    with pytest.raises(KeyFileError, match="does not exist"):
        rotate_keyring(path, now=NOW)


def test_rotate_keeps_old_key_and_changes_active(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = generate_keyring(path, now=NOW).active
    old_signature, old_mac = first.sign(b"event"), first.mac(b"event")

    rotated = rotate_keyring(path, now=NOW + timedelta(days=30))
    assert _mode(path) == 0o600
    assert len(rotated.key_ids) == 2 and rotated.key_ids[0] == first.key_id
    assert rotated.active.key_id != first.key_id
    assert rotated.active.created_at == NOW + timedelta(days=30)
    assert load_keyring(path).active.key_id == rotated.active.key_id
    assert rotated.get(first.key_id).mac(b"event") == old_mac
    assert rotated.active.mac(b"event") != old_mac

    public = tmp_path / "public.json"
    write_public_keyring(public, rotated)
    auditor = load_public_keyring(public)
    assert auditor.verify(first.key_id, b"event", old_signature)
    assert auditor.verify(rotated.active.key_id, b"event", rotated.active.sign(b"event"))
    assert not auditor.verify(rotated.active.key_id, b"event", old_signature)


def test_get_unknown_key_id(tmp_path: Path) -> None:
    keyring = generate_keyring(tmp_path / "keys.json", now=NOW)
    with pytest.raises(KeyFileError, match="not in the keyring"):
        keyring.get("k0000000000000000")


def test_mac_is_hmac_sha256_of_the_stored_secret(tmp_path: Path) -> None:
    path_a, path_b = tmp_path / "a.json", tmp_path / "b.json"
    a, b = generate_keyring(path_a, now=NOW).active, generate_keyring(path_b, now=NOW).active
    secret = base64.b64decode(json.loads(path_a.read_text())["keys"][0]["hmac_secret"])
    assert a.mac(b"payload") == hmac.new(secret, b"payload", hashlib.sha256).hexdigest()
    assert a.mac(b"payload") == a.mac(b"payload")
    assert a.mac(b"payload") != a.mac(b"payloae")
    assert a.mac(b"payload") != b.mac(b"payload")


# -- signatures and the public keyring ------------------------------------------------------


def _auditor_for(tmp_path: Path, key_name: str = "keys.json") -> tuple[Key, Path]:
    keyring = generate_keyring(tmp_path / key_name, now=NOW)
    public = tmp_path / f"public-{key_name}"
    write_public_keyring(public, keyring)
    return keyring.active, public


def test_signature_verifies_only_for_the_exact_bytes_and_key(tmp_path: Path) -> None:
    key, public_path = _auditor_for(tmp_path)
    other, _ = _auditor_for(tmp_path, "other.json")
    auditor = load_public_keyring(public_path)
    body = canonical({"chain": "doc:1", "seq": 3})
    signature = key.sign(body)

    assert auditor.verify(key.key_id, body, signature)
    for i in range(len(body)):
        tampered = body[:i] + bytes([body[i] ^ 1]) + body[i + 1 :]
        assert not auditor.verify(key.key_id, tampered, signature)
    assert not auditor.verify(key.key_id, body, other.sign(body))
    assert not auditor.verify(other.key_id, body, other.sign(body))


@pytest.mark.parametrize(
    "bad",
    [
        ("k0000000000000000", b"x", "AAAA"),
        ("KEY", b"x", "not base64 at all!"),
        ("KEY", b"x", base64.b64encode(b"\0" * 63).decode()),
        ("KEY", b"x", ""),
        ("KEY", "not bytes", "SIG"),
        (None, b"x", "SIG"),
        ("KEY", b"x", None),
    ],
)
def test_verify_never_raises_on_bad_input(tmp_path: Path, bad: tuple[Any, Any, Any]) -> None:
    key, public_path = _auditor_for(tmp_path)
    auditor = load_public_keyring(public_path)
    args: list[Any] = [key.key_id if v == "KEY" else key.sign(b"x") if v == "SIG" else v for v in bad]
    assert auditor.verify(*args) is False


def test_public_keyring_holds_no_secrets(tmp_path: Path) -> None:
    keyring = generate_keyring(tmp_path / "keys.json", now=NOW)
    secret_entry = json.loads((tmp_path / "keys.json").read_text())["keys"][0]
    public = tmp_path / "public.json"
    write_public_keyring(public, keyring)
    text = public.read_text()
    assert secret_entry["hmac_secret"] not in text
    assert secret_entry["ed25519_private"] not in text
    assert json.loads(text) == {
        "keys": [
            {
                "key_id": keyring.active.key_id,
                "created_at": "2025-03-04T09:30:00+00:00",
                "ed25519_public": keyring.active.public_key_b64,
            }
        ]
    }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: {"keys": []}, "contains no keys"),
        (lambda d: {"keys": [{**d["keys"][0], "ed25519_public": B64_16}]}, "16 bytes, not 32"),
        (lambda d: {"keys": [{**d["keys"][0], "key_id": "k0000000000000000"}]}, "but its key gives"),
        (
            lambda d: {"keys": [{k: v for k, v in d["keys"][0].items() if k != "ed25519_public"}]},
            "has no ed25519_public string",
        ),
    ],
)
def test_malformed_public_keyring(tmp_path: Path, change: Callable[[Any], Any], problem: str) -> None:
    _, path = _auditor_for(tmp_path)
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    with pytest.raises(KeyFileError, match=problem) as e:
        load_public_keyring(path)
    assert str(path) in str(e.value)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_public_keyring(tmp_path / "absent.json")
    path.write_text("[")
    with pytest.raises(KeyFileError, match="not valid JSON"):
        load_public_keyring(path)


def test_canonical_bytes() -> None:
    assert canonical({"b": [1, "é"], "a": None}) == '{"a":null,"b":[1,"é"]}'.encode()
    with pytest.raises(TypeError, match="ISO strings"):
        canonical({"at": NOW})
    with pytest.raises(ValueError):
        canonical(float("nan"))


# -- anchors --------------------------------------------------------------------------------

HEADS: list[tuple[int, dict[str, tuple[int, str]]]] = [
    (3, {"sys": (1, "01" * 32), "doc:1": (2, "11" * 32)}),
    (5, {"sys": (1, "01" * 32), "doc:1": (3, "12" * 32), "doc:2": (1, "21" * 32)}),
    (8, {"sys": (2, "02" * 32), "doc:1": (5, "13" * 32), "doc:2": (2, "22" * 32)}),
]


def _chain(key: Key, steps: list[tuple[int, dict[str, tuple[int, str]]]]) -> list[Anchor]:
    anchors: list[Anchor] = []
    for i, (count, heads) in enumerate(steps, 1):
        anchors.append(
            make_anchor(
                seq=i,
                at=f"2025-03-0{i}T00:00:00+00:00",
                event_count=count,
                heads=heads,
                key=key,
                previous_hash=anchors[-1].digest() if anchors else "",
            )
        )
    return anchors


@pytest.fixture
def signer(tmp_path: Path) -> tuple[Key, Path]:
    return _auditor_for(tmp_path)


def _read(directory: Path, public_path: Path) -> tuple[list[Anchor], list[str]]:
    return read_anchors(directory, load_public_keyring(public_path))


def test_three_anchors_read_back_clean(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    written = _chain(key, HEADS)
    paths = [write_anchor(tmp_path / "anchors", a) for a in written]
    assert [p.name for p in paths] == [f"checkpoint-0000000{i}.json" for i in (1, 2, 3)]
    assert written[0].previous_hash == "" and written[2].previous_hash == written[1].digest()
    assert written[0].body() == {
        k: v for k, v in json.loads(paths[0].read_text()).items() if k != "signature"
    }
    assert _read(tmp_path / "anchors", public) == (written, [])


def test_anchor_digest_covers_the_signature(signer: tuple[Key, Path]) -> None:
    anchor = _chain(signer[0], HEADS[:1])[0]
    body = anchor.body()
    expected = hashlib.sha256(canonical({**body, "signature": anchor.signature})).hexdigest()
    assert anchor.digest() == expected
    assert "signature" not in body


def test_field_changed_in_a_file_breaks_its_signature(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    for a in _chain(key, HEADS):
        write_anchor(tmp_path, a)
    path = tmp_path / "checkpoint-00000002.json"
    data = json.loads(path.read_text())
    data["heads"]["doc:2"][1] = "ff" * 32
    path.write_text(json.dumps(data))
    anchors, findings = _read(tmp_path, public)
    assert [a.seq for a in anchors] == [1, 3]
    assert findings[0] == ("checkpoint-00000002.json has a signature that does not match its contents.")
    assert any("checkpoint-00000003.json has a previous_hash" in f for f in findings)


def test_deleted_middle_anchor_is_a_gap(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    for a in _chain(key, HEADS):
        write_anchor(tmp_path, a)
    (tmp_path / "checkpoint-00000002.json").unlink()
    anchors, findings = _read(tmp_path, public)
    assert [a.seq for a in anchors] == [1, 3]
    assert findings == [
        ("checkpoint-00000003.json follows checkpoint-00000001.json, so anchor 2 is missing.")
    ]


def test_deleted_first_anchor_is_a_gap(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    for a in _chain(key, HEADS):
        write_anchor(tmp_path, a)
    (tmp_path / "checkpoint-00000001.json").unlink()
    (tmp_path / "checkpoint-00000002.json").unlink()
    assert _read(tmp_path, public)[1] == [
        "checkpoint-00000003.json is the first anchor, so anchors 1 to 2 are missing."
    ]


def test_anchor_resigned_with_a_key_auditors_do_not_hold(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    forged = generate_keyring(tmp_path / "forger.json", now=NOW).active
    original = _chain(key, HEADS)
    for a in original:
        write_anchor(tmp_path / "anchors", a)
    path = tmp_path / "anchors" / "checkpoint-00000002.json"
    path.unlink()
    count, heads = HEADS[1]
    write_anchor(
        tmp_path / "anchors",
        make_anchor(
            seq=2,
            at="2025-03-02T00:00:00+00:00",
            event_count=count,
            heads=heads,
            previous_hash=original[0].digest(),
            key=forged,
        ),
    )
    anchors, findings = _read(tmp_path / "anchors", public)
    assert [a.seq for a in anchors] == [1, 3]
    assert findings[0] == (
        f"checkpoint-00000002.json is signed with key {forged.key_id!r}, which is not in the public keyring."
    )


def test_anchor_signed_by_a_rotated_out_key_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    old = generate_keyring(path, now=NOW).active
    first = _chain(old, HEADS[:1])[0]
    new = rotate_keyring(path, now=NOW + timedelta(days=1))
    second = make_anchor(
        seq=2,
        at="2025-03-05T00:00:00+00:00",
        event_count=5,
        heads=HEADS[1][1],
        previous_hash=first.digest(),
        key=new.active,
    )
    write_anchor(tmp_path / "anchors", first)
    write_anchor(tmp_path / "anchors", second)
    write_public_keyring(tmp_path / "public.json", new)
    assert _read(tmp_path / "anchors", tmp_path / "public.json") == ([first, second], [])


def _signed_with(key: Key, directory: Path, steps: list[tuple[int, dict[str, tuple[int, str]]]]) -> None:
    for a in _chain(key, steps):
        write_anchor(directory, a)


@pytest.mark.parametrize(
    ("second", "finding"),
    [
        (
            (2, HEADS[0][1]),
            ("checkpoint-00000002.json counts 2 events, fewer than the 3 in checkpoint-00000001.json."),
        ),
        (
            (3, {**HEADS[0][1], "doc:1": (1, "10" * 32)}),
            (
                "checkpoint-00000002.json has chain 'doc:1' at seq 1, behind seq 2 in "
                "checkpoint-00000001.json."
            ),
        ),
        (
            (3, {"sys": HEADS[0][1]["sys"]}),
            "checkpoint-00000002.json omits chain 'doc:1', which checkpoint-00000001.json has.",
        ),
        (
            (3, {**HEADS[0][1], "doc:1": (2, "ee" * 32)}),
            (
                "checkpoint-00000002.json has chain 'doc:1' at seq 2 with a different hash from "
                "checkpoint-00000001.json."
            ),
        ),
    ],
    ids=["event-count-falls", "chain-seq-falls", "chain-disappears", "chain-head-rewritten"],
)
def test_validly_signed_anchor_that_goes_backwards(
    tmp_path: Path, signer: tuple[Key, Path], second: tuple[int, dict[str, tuple[int, str]]], finding: str
) -> None:
    key, public = signer
    _signed_with(key, tmp_path, [HEADS[0], second])
    anchors, findings = _read(tmp_path, public)
    assert [a.seq for a in anchors] == [1, 2]
    assert findings == [finding]


def test_broken_previous_hash(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    first = _chain(key, HEADS[:1])[0]
    write_anchor(tmp_path, first)
    count, heads = HEADS[1]
    write_anchor(
        tmp_path,
        make_anchor(
            seq=2, at="2025-03-02T00:00:00+00:00", event_count=count, heads=heads, previous_hash=H, key=key
        ),
    )
    assert _read(tmp_path, public)[1] == [
        ("checkpoint-00000002.json has a previous_hash that does not match checkpoint-00000001.json.")
    ]


def test_first_anchor_must_not_name_a_predecessor(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    write_anchor(
        tmp_path,
        make_anchor(
            seq=1, at="2025-03-01T00:00:00+00:00", event_count=3, heads=HEADS[0][1], previous_hash=H, key=key
        ),
    )
    assert _read(tmp_path, public)[1] == ["checkpoint-00000001.json is anchor 1 but names a previous anchor."]


def test_unreadable_invalid_and_misnamed_files(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    first, second = _chain(key, HEADS[:2])
    write_anchor(tmp_path, first)
    (tmp_path / "checkpoint-00000002.json").write_text('{"seq": 2,')
    (tmp_path / "checkpoint-00000003.json").write_text(json.dumps({"seq": 3}))
    (tmp_path / "checkpoint-00000004.json").write_text(
        json.dumps({**second.body(), "signature": second.signature})
    )
    anchors, findings = _read(tmp_path, public)
    assert anchors == [first]
    assert findings[0] == "checkpoint-00000002.json is unreadable or not valid JSON."
    assert findings[1].startswith("checkpoint-00000003.json is not a valid anchor: ")
    assert findings[2] == ("checkpoint-00000004.json holds anchor 2, which its name contradicts.")


def test_unsigned_extra_field_is_refused(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, public = signer
    path = write_anchor(tmp_path, _chain(key, HEADS[:1])[0])
    path.write_text(json.dumps({**json.loads(path.read_text()), "note": "all fine"}))
    anchors, findings = _read(tmp_path, public)
    assert anchors == []
    assert findings[0].startswith("checkpoint-00000001.json is not a valid anchor: ")


def test_empty_or_missing_directory(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    _, public = signer
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an anchor")
    assert _read(empty, public) == ([], [f"no anchors in {empty}"])
    assert _read(tmp_path / "absent", public) == ([], [f"no anchors in {tmp_path / 'absent'}"])


def test_write_anchor_never_overwrites(tmp_path: Path, signer: tuple[Key, Path]) -> None:
    key, _ = signer
    first = _chain(key, HEADS[:1])[0]
    path = write_anchor(tmp_path, first)
    before = path.read_bytes()
    other = make_anchor(
        seq=1, at="2025-03-09T00:00:00+00:00", event_count=99, heads={}, previous_hash="", key=key
    )
    with pytest.raises(KeyFileError, match="already exists"):
        write_anchor(tmp_path, other)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["checkpoint-00000001.json", "keys.json", "public-keys.json"]
    )
    assert os.access(path, os.R_OK)
