"""Generated blocks inside hand-written Markdown, between ``<!-- NAME:begin -->`` and
``<!-- NAME:end -->``: the fault matrix, the soak and the benchmarks write their figures there."""

from __future__ import annotations

from pathlib import Path


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def read_section(path: Path, name: str) -> str:
    """The block's content, or '' when the file or its markers are missing."""
    begin, end = _markers(name)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin not in text or end not in text:
        return ""
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def write_section(path: Path, name: str, content: str) -> None:
    """Replace the block's content; the markers must already be in the file."""
    begin, end = _markers(name)
    text = path.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        raise ValueError(f"{path} has no {begin} ... {end} block")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{begin}\n{content.strip(chr(10))}\n{end}{tail}", encoding="utf-8")
