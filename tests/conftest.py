"""Session-wide: feed the leak watch with everything pytest captured."""

from __future__ import annotations

import pytest

from tests.leakwatch import WATCH


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--write-fault-table",
        action="store_true",
        default=False,
        help="write docs/fault-matrix.md's table from this run instead of checking it (make fault-table)",
    )


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for title, content in report.sections:
        WATCH.record(f"{report.nodeid} [{title}]", content)
    if report.longrepr is not None:
        WATCH.record(f"{report.nodeid} [failure report]", str(report.longrepr))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any captured output holds a fixture secret or token, even in part."""
    leaks = WATCH.leaks()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        # Printed on every run, so that a reader sees the scan happened and what it covered.
        reporter.write("\n")
        reporter.write_line(WATCH.summary(len(leaks)), red=bool(leaks), green=not leaks)
    if leaks:
        lines = "\n".join(f"  {leak}" for leak in leaks[:20])
        message = f"SECRET LEAK: {len(leaks)} captured output(s) hold a secret:\n{lines}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
