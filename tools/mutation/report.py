"""Score a finished mutmut run per area and write docs/mutation.md.

Reads mutmut's results (``mutants/**/*.py.meta``) and the reasons for accepted survivors
(tools/mutation/accepted.toml). A survivor is matched to its reason by the function it lives
in and the line the mutation changed, not by mutmut's mutant number, which shifts whenever a
function gains or loses a mutant; so a re-run keeps the reasons, and a new survivor shows up
without one. Exits 1 when a survivor in a reviewed area has no reason, or an area misses its
goal.

    python -m tools.mutation.report [--seconds N]   (from the repository root, after mutmut)
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = Path("tools/mutation/accepted.toml")
DOCUMENT = Path("docs/mutation.md")
MUTANTS = Path("mutants")

# mutmut's exit codes (mutmut.stats.status_by_exit_code), reduced to what the score needs:
# a mutant is killed when a test failed on it, ran out of time on it (an endless loop is
# caught), or crashed the test process.
KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout"}
NOT_KILLED = {0: "survived", 5: "no tests", 33: "no tests"}


@dataclass(frozen=True)
class Area:
    name: str
    folder: str  # the files under it, unless a more specific area claims them
    goal: float | None  # least share of mutants killed, or None for no fixed goal
    reviewed: bool  # every survivor needs a reason in accepted.toml


AREAS = (
    Area("domain", "functions/token_refresher/refresher/domain/", 0.90, reviewed=True),
    Area("service layer", "functions/token_refresher/refresher/service_layer/", 0.90, True),
    Area("adapters", "functions/token_refresher/refresher/adapters/", 0.90, reviewed=True),
    # The handler, the CLI, the composition, the configuration, the metrics and logs.
    Area("rest of refresher", "functions/token_refresher/", 0.85, reviewed=False),
    Area("joor_token", "clients/python/joor_token/", None, reviewed=True),
)


def area_of(path: str) -> Area:
    return next(a for a in AREAS if path.startswith(a.folder))


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's, e.g. refresher.domain.service.xǁTokenRefresherǁrun__mutmut_12
    path: str  # the source file
    status: str
    killed: bool

    @property
    def function(self) -> str:
        """The mutated function's dotted name: refresher.domain.service.TokenRefresher.run."""
        module, _, mangled = self.name.partition("__mutmut_")[0].rpartition(".")
        parts = mangled[1:].split("ǁ") if mangled.startswith("xǁ") else [mangled[2:]]
        return ".".join([module, *(p for p in parts if p)])


@dataclass
class Survivor:
    mutant: Mutant
    original: str
    mutated: str
    diff: str
    why: str = ""


@dataclass
class Reason:
    function: str
    original: str
    mutant: str
    why: str
    matched: int = 0


@dataclass
class AreaScore:
    area: Area
    mutants: list[Mutant] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for m in self.mutants if m.status == status)

    @property
    def killed(self) -> int:
        return sum(1 for m in self.mutants if m.killed)

    @property
    def score(self) -> float:
        return self.killed / len(self.mutants) if self.mutants else 1.0

    @property
    def meets_goal(self) -> bool:
        return self.area.goal is None or self.score >= self.area.goal


def read_results(mutants_dir: Path = MUTANTS) -> list[Mutant]:
    found = []
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        path = meta.relative_to(mutants_dir).as_posix().removesuffix(".meta")
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code is None:
                raise SystemExit(f"{name} was never run: the mutmut run did not finish")
            if code in KILLED:
                found.append(Mutant(name, path, KILLED[code], killed=True))
            else:
                found.append(Mutant(name, path, NOT_KILLED.get(code, f"exit code {code}"), False))
    if not found:
        raise SystemExit(f"no mutmut results under {mutants_dir}/: run make mutate")
    return found


def changed_lines(diff: str) -> tuple[str, str]:
    """The diff's removed and added lines, each set joined and stripped of indentation."""
    lines = [line for line in diff.splitlines() if not line.startswith(("---", "+++"))]
    removed = "\n".join(line[1:].strip() for line in lines if line.startswith("-"))
    added = "\n".join(line[1:].strip() for line in lines if line.startswith("+"))
    return removed, added


def survivor_of(mutant: Mutant, diff_of: Callable[[str, str], str]) -> Survivor:
    diff = diff_of(mutant.name, mutant.path)
    original, mutated = changed_lines(diff)
    return Survivor(mutant, original, mutated, diff)


def read_reasons(path: Path = ACCEPTED) -> list[Reason]:
    data = tomllib.loads(path.read_text()) if path.exists() else {}
    return [
        Reason(e["function"], e["original"].strip(), e["mutant"].strip(), e["why"].strip())
        for e in data.get("survivor", [])
    ]


def explain(survivors: Iterable[Survivor], reasons: list[Reason]) -> None:
    by_key = {(r.function, r.original, r.mutant): r for r in reasons}
    for survivor in survivors:
        reason = by_key.get((survivor.mutant.function, survivor.original, survivor.mutated))
        if reason is not None:
            reason.matched += 1
            survivor.why = reason.why


def mutmut_diff(name: str, path: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return get_diff_for_mutant(name, path=path)


def mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def score_table(scores: list[AreaScore]) -> list[str]:
    rows = [
        "| area | mutants | killed | survived | no test reaches it | score | goal |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in scores:
        goal = "-" if s.area.goal is None else f"{percent(s.area.goal)}"
        if s.area.goal is not None:
            goal += " met" if s.meets_goal else " MISSED"
        rows.append(
            f"| {s.area.name} (`{s.area.folder}`) | {len(s.mutants)} | {s.killed} | "
            f"{s.count('survived')} | {s.count('no tests')} | {percent(s.score)} | {goal} |"
        )
    everything = [m for s in scores for m in s.mutants]
    killed = sum(1 for m in everything if m.killed)
    rows.append(
        f"| all | {len(everything)} | {killed} | "
        f"{sum(1 for m in everything if m.status == 'survived')} | "
        f"{sum(1 for m in everything if m.status == 'no tests')} | "
        f"{percent(killed / len(everything))} | |"
    )
    return rows


def fenced(text: str) -> list[str]:
    return ["```diff", text, "```"]


def document(
    scores: list[AreaScore],
    survivors: list[Survivor],
    stale: list[Reason],
    *,
    version: str,
    seconds: float | None,
    selection: list[str],
    today: str,
) -> str:
    took = "" if seconds is None else f", in {seconds / 60:.0f} minutes"
    lines = [
        "# Mutation testing",
        "",
        "Generated by `make mutate` (tools/mutation/); do not edit by hand. The reasons for",
        "accepted survivors live in tools/mutation/accepted.toml.",
        "",
        f"Last run: {today}, mutmut {version}, 2 workers{took}.",
        "",
        "mutmut changes one small thing in the code at a time (a comparison flipped, a",
        "constant changed, an argument dropped, a string altered) and runs the tests that",
        "reach the changed function. A mutant is killed when one of them fails (or hangs);",
        "a mutant that survives shows behaviour no test pins down.",
        "",
        "The tests that judge a mutant are those of "
        + ", ".join(f"`{s}`" for s in selection)
        + " that executed the mutated",
        "function in mutmut's first, instrumented run of them. The integration, fault and",
        "template tests judge none: each of their runs starts a moto server process, which",
        "would make a run last hours; tests/adapters drive each adapter over HTTP instead.",
        "",
        "## What mutmut does not mutate",
        "",
        "mutmut only changes the bodies of functions and methods. Not mutated, so not scored:",
        "code outside any function (module constants such as the limits in",
        "`adapters/joor_auth.py`, class bodies such as a dataclass's field defaults), type",
        "annotations, default arguments other than plain names, numbers and strings, and every",
        "decorated function except `@staticmethod` and `@classmethod`: the Lambda handler",
        "(`app.lambda_handler`, under Powertools' decorators) and every `@property` (such as",
        "`CredentialState.rejected`, the login gate's test of a rejected version). Their",
        "tests pin them all the same; this page cannot say how well.",
        "",
        "## Score",
        "",
        *score_table(scores),
        "",
    ]
    for s in scores:
        mine = [v for v in survivors if area_of(v.mutant.path) is s.area]
        lines += [f"## Survivors in {s.area.name}", ""]
        if not mine:
            lines += ["None.", ""]
            continue
        if not s.area.reviewed:
            functions = sorted({v.mutant.function for v in mine})
            lines += [
                f"{len(mine)} survivors in {len(functions)} functions, not reviewed one by one:",
                "the area is held to its score. `python -m tools.mutation.mutmut_layout results`",
                "lists them after a run, `... show NAME` shows one.",
                "",
            ]
            continue
        for v in sorted(mine, key=lambda v: (v.mutant.path, v.mutant.function, v.mutant.name)):
            status = "" if v.mutant.status == "survived" else f" ({v.mutant.status})"
            lines += [f"### `{v.mutant.function}`{status}", ""]
            if v.why:
                lines += [v.why, ""]
            elif s.area.reviewed:
                lines += ["**No reason recorded: kill it with a test or explain it.**", ""]
            lines += [*fenced(v.diff), ""]
    if stale:
        lines += ["## Reasons that matched no survivor", ""]
        lines += [f"- `{r.function}`: `{r.original}` -> `{r.mutant}`" for r in stale]
        lines += [""]
    return "\n".join(lines)


def toml_stub(survivor: Survivor) -> str:
    """An accepted.toml entry for ``survivor``, its reason left to write."""

    def literal(text: str) -> str:
        return f"'''{text}'''" if "\n" in text or "'" in text else f"'{text}'"

    return (
        f'[[survivor]]\nfunction = "{survivor.mutant.function}"\n'
        f"original = {literal(survivor.original)}\nmutant = {literal(survivor.mutated)}\n"
        'why = ""\n'
    )


def mutmut_selection() -> list[str]:
    config = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]
    return [a for a in config["pytest_add_cli_args_test_selection"] if not a.startswith("-")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, help="how long the mutmut run took")
    parser.add_argument(
        "--stubs", action="store_true", help="print accepted.toml entries for unexplained survivors"
    )
    args = parser.parse_args(argv)

    mutants = read_results()
    scores = [AreaScore(a) for a in AREAS]
    for mutant in mutants:
        next(s for s in scores if s.area is area_of(mutant.path)).mutants.append(mutant)
    survivors = [survivor_of(m, mutmut_diff) for m in mutants if not m.killed]
    reasons = read_reasons()
    explain(survivors, reasons)
    stale = [r for r in reasons if not r.matched]

    DOCUMENT.write_text(
        document(
            scores,
            survivors,
            stale,
            version=mutmut_version(),
            seconds=args.seconds,
            selection=mutmut_selection(),
            today=datetime.now(UTC).date().isoformat(),
        )
    )

    for s in scores:
        goal = "" if s.area.goal is None else f"  (goal {percent(s.area.goal)})"
        print(f"{s.area.name:>18}: {percent(s.score):>6} of {len(s.mutants)} mutants killed{goal}")
    unexplained = [v for v in survivors if area_of(v.mutant.path).reviewed and not v.why]
    if args.stubs:
        for v in unexplained:
            print(toml_stub(v))
        return 0
    for v in unexplained:
        print(f"no reason for survivor {v.mutant.name} in {v.mutant.path}:\n{v.diff}\n")
    for r in stale:
        print(f"accepted.toml: no survivor matches {r.function}: {r.original!r} -> {r.mutant!r}")
    missed = [s.area.name for s in scores if not s.meets_goal]
    print(f"wrote {DOCUMENT}")
    if unexplained or missed:
        print(
            f"{len(unexplained)} survivor(s) without a reason; goal missed in: "
            f"{', '.join(missed) or 'none'}"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
