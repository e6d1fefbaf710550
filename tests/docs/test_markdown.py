"""Every Markdown file in the repository names only what exists (tests/docs/markdown_check.py),
and the check finds each kind of broken reference in a document made to break it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.markdown_check import Checker, anchors, make_targets, markdown_files, slug

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_markdown_file_names_only_links_anchors_targets_and_paths_that_exist() -> None:
    checker = Checker(REPO_ROOT)

    problems = [str(p) for p in checker.check_all()]

    assert problems == [], "\n".join(problems)
    files = {p.relative_to(REPO_ROOT).as_posix() for p in markdown_files(REPO_ROOT)}
    assert {"README.md", "docs/operations.md", "clients/python/README.md"} <= files
    assert not [f for f in files if f.startswith((".venv", "node_modules", ".aws-sam", ".git/"))]


def test_the_makefile_targets_are_read_from_the_makefile_and_its_fragments() -> None:
    targets = make_targets(REPO_ROOT)

    assert {"demo", "test", "deploy", "status", "logs", "delete", "preflight"} <= targets
    assert "SAM_CONFIG_ENV" not in targets  # a variable, not a target


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        (
            "The login gate: protecting the JOOR account",
            "the-login-gate-protecting-the-joor-account",
        ),
        ("When JOOR rejects the credentials", "when-joor-rejects-the-credentials"),
        (
            "A fleet: how many accounts one deployment keeps",
            "a-fleet-how-many-accounts-one-deployment-keeps",
        ),
        ("`make status`: every token", "make-status-every-token"),
        ("What's left after `sam delete`", "whats-left-after-sam-delete"),
        ("[Linked](docs/x.md) heading", "linked-heading"),
        ("snake_case and hy-phen", "snake_case-and-hy-phen"),
        ("Two  spaces", "two--spaces"),
    ],
)
def test_anchors_follow_github_s_heading_rule(heading: str, expected: str) -> None:
    assert slug(heading) == expected


# --- a document made to break: each kind of problem, named with its file and line ----------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Makefile").write_text(
        "VENV := .venv\n.PHONY: demo\ndemo: $(VENV)/.installed\n\tpython -m tool\n"
        "include make/extra.mk\n",
        encoding="utf-8",
    )
    (tmp_path / "make").mkdir()
    (tmp_path / "make" / "extra.mk").write_text("deploy deploy-guided:\n\ttrue\n", encoding="utf-8")
    (tmp_path / "tool").mkdir()
    (tmp_path / "tool" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "tool" / "run.py").write_text("", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(
        "# Guide\n\n## Run it: the first time\n\n## Run it: the first time\n\n"
        '<a name="explicit"></a>\n',
        encoding="utf-8",
    )
    return tmp_path


def write(project: Path, text: str) -> Path:
    path = project / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def problems(project: Path) -> list[str]:
    return [str(p) for p in Checker(project).check(project / "README.md")]


def test_a_document_whose_references_all_exist_passes(project: Path) -> None:
    write(
        project,
        "# Readme\n\n"
        "[guide](docs/guide.md), [again](docs/guide.md#run-it-the-first-time-1), "
        "[explicit](docs/guide.md#explicit), [here](#readme), [site](https://example.com/x#y).\n"
        "Run `make demo`, `make deploy SAM_CONFIG_ENV=production`, `make -s deploy-guided`, "
        "`python -m tool.run` and read `tool/run.py`, `docs/`, `joor/sandbox/secret-name`, "
        "`/joor/sandbox/access-token`, `.venv/bin/python`.\n\n"
        "```bash\nmake demo   # the demo\nPYTHONPATH=tool python -m tool\n```\n\n"
        "```python\n# this cannot make an error count\nopen('tool/gone.py')\n```\n\n"
        "```\ntool/    where the links, make targets and paths are\n```\n",
    )

    assert problems(project) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "See [the guide](docs/gone.md).",
            "README.md:3: link to docs/gone.md: no such file or directory",
        ),
        (
            "See [a section](docs/guide.md#run-it-the-second-time).",
            "README.md:3: link to docs/guide.md#run-it-the-second-time: no heading or anchor "
            "#run-it-the-second-time in guide.md",
        ),
        (
            "Back [up](#nowhere).",
            "README.md:3: link to #nowhere: no heading or anchor #nowhere in README.md",
        ),
        (
            "[ref]: docs/missing.md",
            "README.md:3: link to docs/missing.md: no such file or directory",
        ),
        (
            "![diagram](docs/diagram.png)",
            "README.md:3: link to docs/diagram.png: no such file or directory",
        ),
        (
            "Run `make bench` now.",
            "README.md:3: make bench: no such target in the Makefile or make/*.mk",
        ),
        (
            "Run `make -s help`.",
            "README.md:3: make help: no such target in the Makefile or make/*.mk",
        ),
        (
            "It lives in `tool/gone.py`.",
            "README.md:3: tool/gone.py: no such file or directory in the repository",
        ),
        ("See `docs/old/`.", "README.md:3: docs/old/: no such file or directory in the repository"),
        (
            "Run `python -m tool.gone`.",
            "README.md:3: python -m tool.gone: no such module in the repository",
        ),
        (
            "```bash\nmake demo\nmake soak SOAK_SEED=1\n```",
            "README.md:5: make soak: no such target in the Makefile or make/*.mk",
        ),
        (
            "```bash\ncd tool && make bogus\n```",
            "README.md:4: make bogus: no such target in the Makefile or make/*.mk",
        ),
        (
            "```\ncat tool/missing.txt\n```",
            "README.md:4: tool/missing.txt: no such file or directory in the repository",
        ),
    ],
    ids=[
        "missing-file",
        "missing-anchor-in-another-file",
        "missing-anchor-here",
        "reference-definition",
        "image",
        "unknown-make-target",
        "unknown-make-target-after-flags",
        "missing-path",
        "missing-directory",
        "missing-module",
        "unknown-target-in-a-shell-block",
        "unknown-target-after-and",
        "missing-path-in-a-plain-block",
    ],
)
def test_each_broken_reference_is_named_with_its_file_and_line(
    project: Path, text: str, expected: str
) -> None:
    write(project, f"# Readme\n\n{text}\n")

    assert problems(project) == [expected]


def test_the_whole_tree_is_checked_but_generated_folders(project: Path) -> None:
    (project / ".venv" / "lib").mkdir(parents=True)
    (project / ".venv" / "lib" / "README.md").write_text("[x](nowhere.md)\n", encoding="utf-8")
    (project / "node_modules").mkdir()
    (project / "node_modules" / "x.md").write_text("[x](nowhere.md)\n", encoding="utf-8")
    (project / "docs" / "broken.md").write_text("# B\n\n[x](nowhere.md)\n", encoding="utf-8")

    found = [str(p) for p in Checker(project).check_all()]

    assert found == ["docs/broken.md:3: link to nowhere.md: no such file or directory"]


def test_anchors_count_repeated_headings_and_ignore_headings_in_code(project: Path) -> None:
    guide = project / "docs" / "guide.md"
    guide.write_text(guide.read_text() + "\n```bash\n# not a heading\n```\n", encoding="utf-8")

    assert anchors(guide) == {
        "guide",
        "run-it-the-first-time",
        "run-it-the-first-time-1",
        "explicit",
    }
