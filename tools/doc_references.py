"""Every reference a Markdown file of the repository makes resolves: run by `make test`.

    .venv/bin/python -m tools.doc_references     # one line per broken reference, exit 1 if any

What it checks, outside fenced code blocks unless said otherwise:
- a relative link (``[text](path)``, ``![alt](path)``, ``[label]: path``) names a file or
  folder that exists, relative to the Markdown file;
- its anchor (``path.md#anchor`` or ``#anchor``) is a heading of that file, by GitHub's rule
  (see ``slug``), or an explicit ``<a name>``/``id``;
- a ``make TARGET`` in inline code or in a fenced block names a target the Makefile (or a
  fragment it includes) defines;
- a repository path in inline code (``infra/deploy/preflight.py``, ``docs/``) exists. A code
  span counts as a path when it has no spaces or wildcards and its first part is an entry of
  the repository's root or of the Markdown file's folder; anything else (an SSM name like
  ``/joor/sandbox/access-token``, ``aws/ssm``) is not a path.

Each problem is reported as ``file:line: what``, so an editor jumps to it.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Folders that are not the project's documents: build output, dependencies, and every folder
# whose name starts with a dot (.venv*, .aws-sam, .git, caches).
SKIPPED_DIRS = {"node_modules", "mutants"}

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_HTML_ANCHOR = re.compile(r"<a\s+[^>]*(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
# A command: at the start of a code span or line (after an optional prompt), or after && ; || (
_MAKE = re.compile(
    r"(?:^|&&|;|\|\||\()\s*(?:\$\s+)?make\s+((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)([a-z][a-z0-9_.-]*)"
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_PATH_LIKE = re.compile(r"^[\w.@-]+(/[\w.@+-]+)*/?$")
_TARGET = re.compile(r"^([A-Za-z0-9_.%/-]+(?:\s+[A-Za-z0-9_.%/-]+)*)\s*:(?!=)")
_INCLUDE = re.compile(r"^-?include\s+(.+)$")


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        shown = (
            self.file.relative_to(REPO_ROOT) if self.file.is_relative_to(REPO_ROOT) else self.file
        )
        return f"{shown}:{self.line}: {self.message}"


def markdown_files(root: Path = REPO_ROOT) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.md")):
        parts = path.relative_to(root).parts[:-1]
        if any(p in SKIPPED_DIRS or p.startswith(".") for p in parts):
            continue
        found.append(path)
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (code marks, link targets and HTML tags
    dropped), lower-cased, every character that is not a letter, digit, space, hyphen or
    underscore removed, and each space made a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("`", "").strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in ("L", "N"))
    return kept.replace(" ", "-")


def _lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(number, text, inside a fenced block) for each line; fence lines themselves are skipped."""
    fenced = False
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if _FENCE.match(text):
            fenced = not fenced
            continue
        yield number, text, fenced


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, text, fenced in _lines(path):
        if fenced:
            continue
        match = _HEADING.match(text)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
        found.update(a.lower() for a in _HTML_ANCHOR.findall(text))
    return frozenset(found)


@cache
def make_targets(root: Path = REPO_ROOT) -> frozenset[str]:
    """Every target the Makefile and the fragments it includes define."""
    targets: set[str] = set()
    pending = [root / "Makefile"]
    while pending:
        makefile = pending.pop()
        if not makefile.exists():
            continue
        for text in makefile.read_text(encoding="utf-8").splitlines():
            if text.startswith(("\t", "#")):
                continue
            include = _INCLUDE.match(text)
            if include:
                pending += [root / name for name in include.group(1).split()]
                continue
            match = _TARGET.match(text)
            if match and not text.split(":", 1)[0].strip().startswith("."):
                targets.update(match.group(1).split())
    return frozenset(targets)


def _without_code(text: str) -> str:
    return _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)


def check_file(path: Path, root: Path = REPO_ROOT) -> list[Problem]:
    problems: list[Problem] = []
    targets = make_targets(root)
    for number, text, fenced in _lines(path):
        spans = [] if fenced else [m.group(2).strip() for m in _CODE_SPAN.finditer(text)]
        # make TARGET: in code spans, and in fenced blocks (commands).
        for code in [text] if fenced else spans:
            for match in _MAKE.finditer(code):
                target = match.group(2)
                if target not in targets:
                    message = f"`make {target}`: the Makefile has no target {target!r}"
                    problems.append(Problem(path, number, message))
        if fenced:
            continue
        prose = _without_code(text)
        links = _INLINE_LINK.findall(prose)
        reference = _REFERENCE.match(prose)
        if reference:
            links.append(reference.group(1))
        for target in links:
            problems += _check_link(path, number, target)
        for code in spans:
            problems += _check_path(path, number, code, root)
    return problems


def _check_link(path: Path, number: int, target: str) -> list[Problem]:
    if _SCHEME.match(target) or target.startswith("//"):
        return []  # https:, mailto:, ...: not the repository's
    file_part, _, fragment = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    if not destination.exists():
        return [Problem(path, number, f"link {target!r}: no file or folder {file_part!r}")]
    markdown = destination.suffix == ".md" and destination.is_file()
    if fragment and markdown and fragment.lower() not in anchors(destination):
        where = "this file" if destination == path else file_part
        return [Problem(path, number, f"link {target!r}: no heading #{fragment} in {where}")]
    return []


def _check_path(path: Path, number: int, code: str, root: Path) -> list[Problem]:
    if not _PATH_LIKE.match(code) or ("/" not in code and "." not in code):
        return []
    first = code.split("/", 1)[0]
    for base in (root, path.parent):
        if first and (base / first).exists():
            if (base / code).exists():
                return []
            return [Problem(path, number, f"`{code}`: no such file or folder in the repository")]
    return []


def check(root: Path = REPO_ROOT) -> list[Problem]:
    return [problem for path in markdown_files(root) for problem in check_file(path, root)]


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)  # noqa: T201
    files = len(markdown_files())
    print(f"{files} Markdown files, {len(problems)} broken reference(s)")  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
