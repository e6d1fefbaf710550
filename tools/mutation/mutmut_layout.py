"""mutmut, taught this repository's layout.

mutmut names each mutant after the module it mutates, and derives that module from the
file's path (``src/`` stripped). Here the code lives in two import roots,
functions/token_refresher (``refresher``, ``app``) and clients/python (``joor_token``), so
``functions/token_refresher/refresher/domain/service.py`` must be named
``refresher.domain.service``, the name the tests import and the trampolines record.
Without this, every mutant would count as one that no test reaches.

It also chooses each mutant's tests in two tiers. The fast tests that reach the mutated
function (``FIRST_TIER``: no sockets, or servers in this process) are the ones that judge it;
only a function that none of them reaches is judged by the slower integration and fault tests
that reach it, at most ``SECOND_TIER_LIMIT`` of them (each of those runs starts a moto server
process, and a mutant that survives runs every test it is given). So a mutant of domain/ must
be caught by a unit test and one of adapters/ by tests/adapters, where a failing test names
the behaviour. Within a tier the fastest test goes first, so a mutant that a quick test kills
costs only that test.

Run as ``python -m tools.mutation.mutmut_layout run`` (or any other mutmut command).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath

IMPORT_ROOTS = (PurePath("functions/token_refresher"), PurePath("clients/python"))
FIRST_TIER = ("tests/unit/", "tests/consumer/", "tests/adapters/")
SECOND_TIER_LIMIT = 20


def module_path(path: PurePath) -> PurePath:
    """The path of ``path`` below its import root: what mutmut turns into a module name."""
    for root in IMPORT_ROOTS:
        if path.is_relative_to(root):
            return path.relative_to(root)
    return path


def install() -> None:
    """Point mutmut's path-to-name function, in each module that imported it, at ours."""
    import mutmut.__main__
    import mutmut.mutation.file_mutation
    import mutmut.utils.format_utils
    from mutmut.runners.harness import PytestRunner
    from mutmut.state import state

    original = mutmut.utils.format_utils.get_mutant_name

    def get_mutant_name(relative_source_path: Path, mutant_method_name: str) -> str:
        return original(Path(module_path(PurePath(relative_source_path))), mutant_method_name)

    for module in (mutmut.utils.format_utils, mutmut.mutation.file_mutation, mutmut.__main__):
        if module.get_mutant_name is not original:
            raise RuntimeError(f"{module.__name__} no longer imports get_mutant_name: update")
        module.get_mutant_name = get_mutant_name  # type: ignore[attr-defined]

    run_tests = PytestRunner.run_tests

    def run_in_tiers(self: PytestRunner, *, mutant_name: str | None, tests: Iterable[str]) -> int:
        tests = list(tests)
        if not tests:  # the whole selection (mutmut's clean and forced-fail runs)
            return run_tests(self, mutant_name=mutant_name, tests=tests)
        durations = state().duration_by_test
        ordered = sorted(tests, key=lambda t: (durations.get(t, 0.0), t))
        first = [t for t in ordered if t.startswith(FIRST_TIER)]
        chosen = first or ordered[:SECOND_TIER_LIMIT]
        return run_tests(self, mutant_name=mutant_name, tests=chosen)

    PytestRunner.run_tests = run_in_tiers  # type: ignore[method-assign]


def main() -> None:
    install()
    import mutmut.__main__

    mutmut.__main__.cli()


if __name__ == "__main__":
    main()
