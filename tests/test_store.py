"""The append-only results store."""

from __future__ import annotations

import math
import sqlite3

import pytest

from nasrank.exceptions import ConfigError
from nasrank.store import EvalRecord, ResultStore, fingerprint


def rec(key="k", fp="fp", status="ok", acc=0.5, **kw):
    return EvalRecord("nb201", f"arch-{key}", key, fp, status, {"acc": acc}, **kw)


def test_fingerprint_is_order_independent_and_value_sensitive():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 1.5})
    assert len(fingerprint({})) == 16
    with pytest.raises(ConfigError, match="JSON"):
        fingerprint({"a": object()})
    with pytest.raises(ConfigError):
        fingerprint({"a": math.nan})


def test_roundtrip_persists_across_connections(tmp_path):
    (tmp_path / "sub").mkdir()  # the store never creates directories
    path = tmp_path / "sub" / "runs.db"
    curve = {"train_loss": [2.0, math.inf], "val_acc": None}
    with ResultStore(path) as s:
        assert s.add(rec("a", curve=curve, cost=3.5, info={"seed": 1}))
        assert s.add(rec("b", acc=math.nan))
        s.set_meta("job", {"x": 1})
    with ResultStore(path) as s:
        assert len(s) == 2
        a = s.get("nb201", "a", "fp")
        assert a.curve["train_loss"] == [2.0, None]  # inf stored as None (JSON-safe)
        assert a.cost == 3.5 and a.info == {"seed": 1} and a.arch == "arch-a"
        assert s.get("nb201", "b", "fp").metrics == {"acc": None}
        assert s.get("nb201", "zzz", "fp") is None
        assert ("nb201", "a", "fp") in s and ("nb201", "a", "other") not in s
        assert s.get_meta("job") == {"x": 1} and s.get_meta("missing", 7) == 7
        assert [r.arch_key for r in s.records()] == ["a", "b"]
        assert a.learning_curve().train_loss[1] != a.learning_curve().train_loss[1]  # NaN back


def test_first_ok_record_wins_but_errors_are_superseded():
    s = ResultStore(":memory:")
    assert s.add(rec("a", acc=0.9))
    assert not s.add(rec("a", acc=0.1))
    assert s.get("nb201", "a", "fp").metrics["acc"] == 0.9
    assert s.add(rec("e", status="error", acc=None, error="boom"))
    assert s.keys(include_errors=False) == {("nb201", "a", "fp")}
    assert s.add(rec("e", acc=0.7))  # retry succeeded: replaces the error record
    assert s.get("nb201", "e", "fp").status == "ok"
    assert not s.add(rec("e", status="error", acc=None, error="late failure"))  # never replaces ok
    assert s.get("nb201", "e", "fp").metrics["acc"] == 0.7
    assert len(s) == 2
    assert {r.fingerprint for r in s.records(fingerprint="fp")} == {"fp"}
    assert list(s.records(fingerprint="nope")) == []


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="status"):
        rec(status="weird")
    with pytest.raises(ConfigError, match="directory"):
        ResultStore(tmp_path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="not a nasrank results store"):
        ResultStore(junk)
    with pytest.raises(ConfigError, match="EvalRecord"):
        ResultStore(":memory:").add({"space": "nb201"})


def test_schema_version_is_checked(tmp_path):
    path = tmp_path / "runs.db"
    ResultStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(ConfigError, match="schema version 99"):
        ResultStore(path)
