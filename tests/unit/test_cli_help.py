"""The workstation run's help names every environment variable the refresher reads."""

from __future__ import annotations

import pytest

from refresher.cli import main
from refresher.config import VARIABLES


def test_help_lists_every_variable_the_settings_read(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])

    text = capsys.readouterr().out
    assert stopped.value.code == 0
    assert [name for name, _ in VARIABLES if name not in text] == []
    assert "(default: as long as it can take, 60)" in text
