"""mutmut, taught this repository's layout.

mutmut names each mutant after the module it mutates, and derives that module from the
file's path (``src/`` stripped). Here the code lives in two import roots,
functions/token_refresher (``refresher``, ``app``) and clients/python (``joor_token``), so
``functions/token_refresher/refresher/domain/service.py`` must be named
``refresher.domain.service``, the name the tests import and the trampolines record.
Without this, every mutant would count as one that no test reaches.

It also hands each mutant's tests to pytest fastest first, so that a mutant a quick test
kills costs only that test.

Run as ``python -m tools.mutation.mutmut_layout run`` (or any other mutmut command).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath

IMPORT_ROOTS = (PurePath("functions/token_refresher"), PurePath("clients/python"))


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

    def fastest_first(self: PytestRunner, *, mutant_name: str | None, tests: Iterable[str]) -> int:
        durations = state().duration_by_test
        ordered = sorted(tests, key=lambda t: (durations.get(t, 0.0), t))
        return run_tests(self, mutant_name=mutant_name, tests=ordered)

    PytestRunner.run_tests = fastest_first  # type: ignore[method-assign]


def main() -> None:
    install()
    import mutmut.__main__

    mutmut.__main__.cli()


if __name__ == "__main__":
    main()
