"""Section 2, cold start: a fresh process that imports the handler module and serves one
fresh-token run, beside a floor process that imports boto3 and requests and makes the same
single call; a documentation-style refresher; and the handler loaded from the build artifact
the way Lambda loads it. Then where import time goes, from ``python -X importtime``.
"""

from __future__ import annotations

import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT, Profile, cold, log, summary
from benchmarks.sections import artifact
from benchmarks.workers.cold import IMPORT_MARK

VARIANTS = ("handler", "minimal", "naive", "deployed", "deployed_pyc")
TITLES = {
    "handler": "refresher: `app.lambda_handler`",
    "minimal": "floor: `import boto3, requests` + 1 DescribeParameters",
    "naive": "documentation-style refresher (`benchmarks/baselines/naive_doc_style.py`)",
    "deployed": "refresher loaded from a copy of the build artifact with every `.pyc` removed",
    "deployed_pyc": "refresher loaded from the build artifact + checked-hash `.pyc`",
}
IMPORTTIME_VARIANTS = ("handler", "minimal", "naive")


def measure(env: dict[str, str], profile: Profile, folders: dict[str, str]) -> dict[str, Any]:
    """Every variant, interleaved; ``folders`` holds the artifact copies ("deployed",
    "deployed_pyc"), and the variants without a folder are left out."""
    variants = [v for v in VARIANTS if not v.startswith("deployed") or v in folders]
    bytecode = {v: artifact.bytecode_files(Path(f)) for v, f in folders.items()}
    if bytecode.get("deployed"):
        raise RuntimeError(f"the no-byte-code copy holds {bytecode['deployed']} .pyc files")
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for round_ in range(profile.cold_rounds):
        # Interleaved, and each variant takes each position in turn, to cancel drift.
        shift = round_ % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            samples[variant].append(_one_process(variant, env, folders.get(variant)))
        log(f"  cold start: round {round_ + 1}/{profile.cold_rounds}")
    stats = {
        variant: {
            key: summary([r[key] for r in runs])
            for key in ("total_s", "import_s", "invoke_s", "process_s", "maxrss_kb")
        }
        for variant, runs in samples.items()
    }
    return {
        "operation": "DescribeParameters with a Name Equals filter (the same in every variant)",
        "processes_per_variant": profile.cold_rounds,
        "titles": {v: TITLES[v] for v in variants},
        "artifact_folders": {k: _shown(v) for k, v in folders.items()},
        "bytecode_files": bytecode,
        "variants": stats,
        "ratio_to_floor": {v: _ratios(samples[v], samples["minimal"], stats, v) for v in variants},
        "imports": measure_importtime(env, profile),
    }


def _one_process(variant: str, env: dict[str, str], folder: str | None) -> dict[str, Any]:
    module = "handler" if folder else variant
    figures, wall, _ = cold(module, env, folder=folder)
    if variant != "minimal" and figures["result"]["result"] != "skipped":
        raise RuntimeError(f"{variant}: the fresh-token run did not skip: {figures}")
    figures["process_s"] = wall
    return figures


def _ratios(
    runs: list[dict[str, Any]],
    floor_runs: list[dict[str, Any]],
    stats: dict[str, Any],
    variant: str,
) -> dict[str, Any]:
    """Median over median, in process and whole process; and each process's ratio to the
    floor process of the same round."""
    paired = [r["total_s"] / f["total_s"] for r, f in zip(runs, floor_runs, strict=True)]
    return {
        "in_process": stats[variant]["total_s"]["median"] / stats["minimal"]["total_s"]["median"],
        "whole_process": stats[variant]["process_s"]["median"]
        / stats["minimal"]["process_s"]["median"],
        "paired": summary(paired),
    }


def _shown(folder: str) -> str:
    path = Path(folder)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else f"(temporary) {path}"


def measure_importtime(env: dict[str, str], profile: Profile) -> dict[str, Any]:
    """Where import time goes, from ``python -X importtime`` (which slows imports a little)."""
    variants = IMPORTTIME_VARIANTS
    totals: dict[str, list[float]] = defaultdict(list)
    groups: dict[str, dict[str, list[float]]] = {v: defaultdict(list) for v in variants}
    for round_ in range(profile.importtime_runs):
        shift = round_ % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            _, _, stderr = cold(variant, env, importtime=True)
            total, by_group = parse_importtime(stderr)
            totals[variant].append(total)
            for group, seconds in by_group.items():
                groups[variant][group].append(seconds)
    result: dict[str, Any] = {"runs_per_variant": profile.importtime_runs}
    for variant in variants:
        runs = len(totals[variant])
        medians = {
            g: statistics.median(v + [0.0] * (runs - len(v))) for g, v in groups[variant].items()
        }
        result[variant] = {
            "total_s": statistics.median(totals[variant]),
            "by_package_s": dict(sorted(medians.items(), key=lambda kv: kv[1], reverse=True)),
        }
    result["ratio_to_floor"] = {
        v: result[v]["total_s"] / result["minimal"]["total_s"] for v in variants
    }
    return result


def parse_importtime(stderr: str) -> tuple[float, dict[str, float]]:
    """Total import time after the worker's mark, and self time per package (seconds)."""
    lines = stderr.split(IMPORT_MARK, 1)[1].splitlines()
    total = 0.0
    by_group: dict[str, float] = defaultdict(float)
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, cumulative_us, name = (part for part in re.split(r"[:|]", line, maxsplit=3))
        if not name[1:].startswith(" "):  # a top-level import: its cumulative time counts once
            total += int(cumulative_us) / 1e6
        by_group[group_of(name.strip())] += int(self_us) / 1e6
    return total, by_group


def group_of(module: str) -> str:
    """The package an imported module counts under: ours, the standard library, or its own."""
    root = module.split(".", maxsplit=1)[0]
    if root in ("app", "refresher"):
        return "refresher (our code)"
    if root in sys.stdlib_module_names or root.startswith("_"):
        return "stdlib"
    return root
