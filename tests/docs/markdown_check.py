"""What the project's Markdown names must exist: the check `make test` runs over every document.

For each Markdown file under the root (virtual environments, node_modules, build output,
caches, mutants and .git aside), every problem is reported as ``file:line: what``:

- a relative link (``[text](path#anchor)``, an image, or a reference definition) whose file
  or directory does not exist, or whose anchor is not a heading of that document (GitHub's
  rule: the heading's text lower-cased, punctuation but ``-`` and ``_`` dropped, each space a
  ``-``, and ``-1``, ``-2`` after repeats) nor an explicit ``<a name>``/``id``;
- ``make TARGET`` in code whose target the Makefile and make/*.mk do not define;
- a repository path in code or a link target (``infra/deploy/preflight.py``, ``docs/``)
  that does not exist: a relative path counts as one when its first part is an entry of the
  repository's root, of the function's folder or of the consumer package's (so
  ``refresher/status.py`` is checked, ``joor/sandbox/api-credentials`` is a secret's name);
- ``python -m MODULE`` whose module is the project's and cannot be found.

"In code" is a code span, or a fenced block of commands (no language, or a shell's): a
block of Python, a diff or JSON quotes code as it was when quoted, not what to run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIPPED_DIRS = {".git", "node_modules", ".aws-sam", "mutants", "__pycache__"}
# Where a path a document names may start: the repository, the function's code (CodeUri),
# and the consumer package.
SOURCE_ROOTS = (Path("."), Path("functions/token_refresher"), Path("clients/python"))
# Built on the reader's machine, never in the repository.
GENERATED = re.compile(r"^\.venv[^/]*(/|$)|^\.aws-sam(/|$)|^node_modules(/|$)|^mutants(/|$)")

FENCE = re.compile(r"^\s*(```+|~~~+)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\".*\")?\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
# `make` where a command starts: at the start of the line or span (after a `$ ` prompt), or
# after ; && || | ( (so "make targets" in a sentence is not one).
MAKE = re.compile(r"(?:^\s*(?:\$\s+)?|[;&|(]\s*)make\s+((?:-\S+\s+)*)([A-Za-z0-9_.-]+)")
MODULE = re.compile(r"python[0-9.]*\s+-m\s+([A-Za-z_][\w.]*)")
PATH_TOKEN = re.compile(r"(?<![\w./:@=-])((?:\.{0,2}/)?[\w.-]+(?:/[\w.-]+)*/?)(?::\d+)?(?![\w/@])")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
RULE = re.compile(r"^([A-Za-z0-9_.-][A-Za-z0-9_./ -]*?)\s*::?(?!=)")


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def markdown_files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.md")):
        parts = path.relative_to(root).parts[:-1]
        if any(p in SKIPPED_DIRS or p.startswith(".venv") or p.endswith("_cache") for p in parts):
            continue
        found.append(path)
    return found


def make_targets(root: Path) -> set[str]:
    """Every target the Makefile and make/*.mk define (rules, not variable assignments)."""
    targets: set[str] = set()
    for makefile in [root / "Makefile", *sorted((root / "make").glob("*.mk"))]:
        if not makefile.exists():
            continue
        for line in makefile.read_text(encoding="utf-8").splitlines():
            if line.startswith(("\t", "#", " ")):
                continue
            match = RULE.match(line)
            if match and "=" not in line.split(":", 1)[0]:
                names = match.group(1).split()
                targets.update(n for n in names if not n.startswith(".") and "$" not in n)
    return targets


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


COMMAND_FENCES = {"", "bash", "sh", "shell", "console", "zsh", "make", "makefile"}


def _lines(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(number, text, the enclosing fenced block's language or None) of each line; "" for a
    fence without one. The fence lines themselves are skipped."""
    fence: str | None = None
    language: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker[0] * 3
                language = line.strip()[len(marker) :].strip().split(" ")[0].lower()
                continue
            if marker.startswith(fence) and not line.strip()[len(marker) :].strip():
                fence = language = None
                continue
        yield number, line, language


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line, language in _lines(path):
        if language is not None:
            continue
        found.update(EXPLICIT_ANCHOR.findall(line))
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
    return found


class Checker:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.targets = make_targets(self.root)
        self._anchors: dict[Path, set[str]] = {}
        self._roots = [self.root / r for r in SOURCE_ROOTS]
        self._entries = {
            entry.name for r in self._roots if r.is_dir() for entry in r.iterdir()
        } - SKIPPED_DIRS

    def check_all(self) -> list[Problem]:
        problems: list[Problem] = []
        for path in markdown_files(self.root):
            problems += self.check(path)
        return problems

    def check(self, path: Path) -> list[Problem]:
        shown = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        problems: list[Problem] = []

        def problem(number: int, message: str) -> None:
            problems.append(Problem(shown, number, message))

        for number, line, language in _lines(path):
            if language is not None:
                if language in COMMAND_FENCES:
                    for message in self._code(line, path):
                        problem(number, message)
                continue
            spans = [m.group(2) for m in CODE_SPAN.finditer(line)]
            prose = CODE_SPAN.sub(" ", line)
            for target in LINK.findall(prose) + REFERENCE.findall(prose):
                message = self._link(path, target)
                if message:
                    problem(number, message)
            for span in spans:
                for message in self._code(span, path):
                    problem(number, message)
        return problems

    def _link(self, path: Path, target: str) -> str | None:
        if not target or SCHEME.match(target):
            return None
        file_part, _, fragment = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        if not destination.exists():
            return f"link to {target}: no such file or directory"
        if fragment and destination.suffix == ".md":
            if destination not in self._anchors:
                self._anchors[destination] = anchors(destination)
            if fragment not in self._anchors[destination]:
                return f"link to {target}: no heading or anchor #{fragment} in {destination.name}"
        return None

    def _code(self, text: str, path: Path) -> Iterator[str]:
        for match in MAKE.finditer(text):
            target = match.group(2)
            if "=" not in target and target not in self.targets:
                yield f"make {target}: no such target in the Makefile or make/*.mk"
        for match in MODULE.finditer(text):
            module = match.group(1)
            if module.split(".")[0] in self._entries and not self._module_exists(module):
                yield f"python -m {module}: no such module in the repository"
        for match in PATH_TOKEN.finditer(text):
            candidate = match.group(1)
            if self._is_repository_path(candidate) and not self._path_exists(candidate, path):
                yield f"{candidate}: no such file or directory in the repository"

    def _is_repository_path(self, candidate: str) -> bool:
        bare = candidate.removeprefix("./")
        if GENERATED.match(bare) or candidate.startswith(("/", "../")):
            return False
        first = bare.split("/", 1)[0]
        # One word with no slash names a file only with an extension: `Makefile` aside, a
        # bare word in code is a command or a value, not a path.
        if "/" not in bare and "." not in first.strip("."):
            return False
        return first in self._entries

    def _path_exists(self, candidate: str, path: Path) -> bool:
        bare = candidate.removeprefix("./")
        bases = [*self._roots, path.parent]
        return any((base / bare).exists() for base in bases)

    def _module_exists(self, module: str) -> bool:
        parts = module.split(".")
        for base in self._roots:
            folder = base.joinpath(*parts)
            if folder.with_suffix(".py").exists() or (folder / "__init__.py").exists():
                return True
            if (folder / "__main__.py").exists():
                return True
        return False
