"""make mutate's report: scores per area, and reasons that follow a survivor across runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.mutation.report import (
    AREAS,
    Mutant,
    Reason,
    area_of,
    changed_lines,
    explain,
    read_reasons,
    read_results,
    survivor_of,
    toml_stub,
)

DIFF = """--- functions/token_refresher/refresher/domain/retry.py
+++ functions/token_refresher/refresher/domain/retry.py
@@ -1,3 +1,3 @@
 def remaining(self) -> float:
-    return self._limit - (self._clock.monotonic() - self._started)
+    return self._limit + (self._clock.monotonic() - self._started)
"""


def write_meta(root: Path, path: str, codes: dict[str, int | None]) -> None:
    meta = root / f"{path}.meta"
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"exit_code_by_key": codes}))


def test_a_mutant_is_named_by_the_function_it_changed() -> None:
    method = Mutant(
        "refresher.domain.retry.xǁDeadlineǁremaining__mutmut_3", "p.py", "survived", False
    )
    function = Mutant("refresher.domain.names.x_is_under__mutmut_1", "p.py", "survived", False)

    assert method.function == "refresher.domain.retry.Deadline.remaining"
    assert function.function == "refresher.domain.names.is_under"


def test_each_file_belongs_to_the_most_specific_area() -> None:
    names = [
        area_of(path).name
        for path in (
            "functions/token_refresher/refresher/domain/gate.py",
            "functions/token_refresher/refresher/service_layer/fleet.py",
            "functions/token_refresher/refresher/adapters/joor_auth.py",
            "functions/token_refresher/refresher/config.py",
            "functions/token_refresher/app.py",
            "clients/python/joor_token/_reader.py",
        )
    ]

    assert names == [
        "domain",
        "service layer",
        "adapters",
        "rest of refresher",
        "rest of refresher",
        "joor_token",
    ]
    assert {a.name: a.goal for a in AREAS} == {
        "domain": 0.9,
        "service layer": 0.9,
        "adapters": 0.9,
        "rest of refresher": 0.85,
        "joor_token": None,
    }


def test_the_changed_lines_are_read_without_indentation_or_file_headers() -> None:
    assert changed_lines(DIFF) == (
        "return self._limit - (self._clock.monotonic() - self._started)",
        "return self._limit + (self._clock.monotonic() - self._started)",
    )


def test_timeouts_count_as_killed_and_unreached_mutants_as_not(tmp_path: Path) -> None:
    write_meta(
        tmp_path,
        "functions/token_refresher/refresher/domain/retry.py",
        {"m.x_a__mutmut_1": 1, "m.x_a__mutmut_2": 36, "m.x_a__mutmut_3": 0, "m.x_a__mutmut_4": 33},
    )

    found = {m.name[-1]: (m.status, m.killed) for m in read_results(tmp_path)}

    assert found == {
        "1": ("killed", True),
        "2": ("timeout", True),
        "3": ("survived", False),
        "4": ("no tests", False),
    }


def test_an_unfinished_run_is_refused(tmp_path: Path) -> None:
    write_meta(tmp_path, "clients/python/joor_token/_reader.py", {"m.x_a__mutmut_1": None})

    with pytest.raises(SystemExit, match="never run"):
        read_results(tmp_path)


def test_a_reason_follows_its_survivor_whatever_mutmut_numbered_it(tmp_path: Path) -> None:
    accepted = tmp_path / "accepted.toml"
    accepted.write_text(
        "[[survivor]]\n"
        'function = "refresher.domain.retry.Deadline.remaining"\n'
        "original = 'return self._limit - (self._clock.monotonic() - self._started)'\n"
        "mutant = 'return self._limit + (self._clock.monotonic() - self._started)'\n"
        'why = "Equivalent here."\n'
        "[[survivor]]\n"
        'function = "refresher.domain.retry.Deadline.remaining"\n'
        "original = 'gone'\n"
        "mutant = 'also gone'\n"
        'why = "A survivor since killed."\n'
    )
    path = "functions/token_refresher/refresher/domain/retry.py"
    renumbered = Mutant(
        "refresher.domain.retry.xǁDeadlineǁremaining__mutmut_9", path, "survived", False
    )
    other = Mutant("refresher.domain.retry.xǁDeadlineǁexpired__mutmut_1", path, "survived", False)
    survivors = [survivor_of(m, lambda _name, _path: DIFF) for m in (renumbered, other)]
    reasons = read_reasons(accepted)

    explain(survivors, reasons)

    assert [s.why for s in survivors] == ["Equivalent here.", ""]
    assert [r.matched for r in reasons] == [1, 0]


def test_every_accepted_survivor_has_a_reason_and_names_a_function() -> None:
    reasons: list[Reason] = read_reasons()

    # A dotted name under one of the two packages mutated: at least a module and a function.
    assert all(r.why for r in reasons)
    assert all(r.function.startswith(("refresher.", "joor_token.")) for r in reasons)
    assert all(len(r.function.split(".")) >= 2 for r in reasons)


def test_a_printed_stub_matches_its_survivor_once_a_reason_is_written(tmp_path: Path) -> None:
    diff = DIFF.replace("self._started)", "self._started) or 'x'")
    mutant = Mutant(
        "refresher.domain.retry.xǁDeadlineǁremaining__mutmut_2", "p.py", "survived", False
    )
    survivor = survivor_of(mutant, lambda _name, _path: diff)
    accepted = tmp_path / "accepted.toml"
    accepted.write_text(toml_stub(survivor).replace('why = ""', 'why = "Because."'))

    reasons = read_reasons(accepted)
    explain([survivor], reasons)

    assert survivor.why == "Because."


def test_an_unreviewed_areas_survivors_are_counted_not_listed() -> None:
    from tools.mutation.report import AreaScore, Mutant, Survivor, document

    rest = next(a for a in AREAS if a.name == "rest of refresher")
    mutant = Mutant(
        "app.x_lambda_handler__mutmut_1", "functions/token_refresher/app.py", "survived", False
    )
    page = document(
        [AreaScore(rest, [mutant])],
        [Survivor(mutant, "a", "b", "-a\n+b")],
        [],
        version="3",
        seconds=None,
        selection=["tests/unit"],
        today="2026-12-04",
    )

    assert "1 survivors in 1 functions, not reviewed one by one" in page
    assert "```diff" not in page
    assert "What mutmut does not mutate" in page
