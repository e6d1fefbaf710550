"""Every relative link, anchor, `make` target and repository path the Markdown files name
exists (tools/doc_references.py), and the checker catches each kind of break."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.doc_references import check, check_file, slug


def test_every_reference_in_every_markdown_file_resolves() -> None:
    problems = check()

    assert not problems, "broken references:\n" + "\n".join(str(p) for p in problems)


# --- the checker, on a repository of its own ---------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "Makefile").write_text(
        "SHELL := /bin/bash\n.PHONY: demo\ndemo test: x\n\t@echo\ninclude make/more.mk\n",
        encoding="utf-8",
    )
    (tmp_path / "make").mkdir()
    (tmp_path / "make" / "more.mk").write_text("deploy:\n\techo\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(
        "# Guide\n\n## The guarantee, and why a `3-hour` window\n\n## Events\n\n## Events\n",
        encoding="utf-8",
    )
    (tmp_path / "tool.py").write_text("", encoding="utf-8")
    return tmp_path


def problems_in(repo: Path, markdown: str) -> list[str]:
    page = repo / "README.md"
    page.write_text(markdown, encoding="utf-8")
    return [f"{p.line}: {p.message}" for p in check_file(page, repo)]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The guarantee, and why a 3-hour window", "the-guarantee-and-why-a-3-hour-window"),
        ("The Python package, `joor_token`", "the-python-package-joor_token"),
        ("A fleet: [how many](x.md) accounts", "a-fleet-how-many-accounts"),
        ("Powertools, the CLI and other readers", "powertools-the-cli-and-other-readers"),
    ],
)
def test_anchors_follow_github_s_rule(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_working_references_pass(repo: Path) -> None:
    markdown = (
        "See [the guide](docs/guide.md), [why](docs/guide.md#the-guarantee-and-why-a-3-hour-window),\n"
        "[events again](docs/guide.md#events-1), [home](https://example.com/x#y), [top](#readme).\n"
        "# Readme\n"
        "Run `make demo`, `make test`, `make deploy SAM_CONFIG_ENV=production`; read `tool.py`,\n"
        "`docs/`, `docs/guide.md`; not paths: `/joor/sandbox/access-token`, `aws/ssm`, `a b/c`.\n"
        "[ref]: docs/guide.md#events\n"
        "```bash\n[not a link](nowhere.md)\nmake demo  # a comment that would make sense\n```\n"
    )

    assert problems_in(repo, markdown) == []


def test_each_kind_of_break_is_reported_with_its_line(repo: Path) -> None:
    markdown = (
        "[gone](docs/missing.md)\n"
        "[no heading](docs/guide.md#for-consumers)\n"
        "[here](#nowhere)\n"
        "Run `make bench` to measure.\n"
        "Read `docs/old-guide.md` and `make/other.mk`.\n"
        "```bash\nmake soak\n```\n"
        "[ref]: tool.sh\n"
    )

    assert problems_in(repo, markdown) == [
        "1: link 'docs/missing.md': no file or folder 'docs/missing.md'",
        "2: link 'docs/guide.md#for-consumers': no heading #for-consumers in docs/guide.md",
        "3: link '#nowhere': no heading #nowhere in this file",
        "4: `make bench`: the Makefile has no target 'bench'",
        "5: `docs/old-guide.md`: no such file or folder in the repository",
        "5: `make/other.mk`: no such file or folder in the repository",
        "7: `make soak`: the Makefile has no target 'soak'",
        "9: link 'tool.sh': no file or folder 'tool.sh'",
    ]
