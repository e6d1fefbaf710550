"""``make bench``'s measuring: every figure of a run, as one results dict (benchmarks/render.py
turns it into docs/benchmarks.md's block, benchmarks/run.py is the command).

Everything talks to loopback only: moto in server mode stands in for AWS (reached directly
through AWS_ENDPOINT_URL, without the fault proxy) and the local JOOR auth server for JOOR.
Figures are ratios to a floor measured in the same run; absolute times are only context.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import artifact, fleet
from infra.local.stack import FUNCTION_NAME, PARAMETER_NAME, SECRET_ID, LocalStack

ROOT = Path(__file__).resolve().parents[1]
WORKERS = ROOT / "benchmarks" / "workers"
TEMPLATE = ROOT / "template.yaml"
COMMAND = "make bench"
IMPORT_MARK = "bench: importing the handler module"  # printed by workers/cold.py

DECIDED_MEMORY_MB = 256
GOALS = {
    "cold_start": 1.25,
    "warm_forced_refresh": 1.15,
    "warm_fresh_token": 1.15,
    # The consumer package's cached token() is no slower than Powertools' cached get_parameter.
    "consumer_cached_token": 1.0,
}
# A consumer stampede: 20 consumers (5 threads in each of 4 processes) hit one revocation.
STAMPEDE_PROCESSES, STAMPEDE_THREADS = 4, 5
# As long as a real JOOR login takes, about; the local one answers in ~3 ms otherwise.
STAMPEDE_LOGIN_LATENCY = 0.3


# The fewest calls each scenario can make: a fresh run reads the parameter's
# metadata once; a refresh reads the secret, asks JOOR once and writes the parameter, and a
# scheduled refresh must first read the parameter to know that it is stale.
@dataclass(frozen=True)
class Scenario:
    """One run whose AWS and JOOR calls are counted, and the least a correct run makes."""

    name: str
    event: dict[str, Any]
    expected: str  # the summary's result
    floor_aws: int
    floor_joor: int
    env: dict[str, str] = field(default_factory=dict)
    operator: bool = False  # invoked through the operator alias
    # What the stack looks like before the run: JOOR's token life, what the secret records.
    expires_in: int = 36000
    recorded: str | None = None


SCENARIOS = (
    # The token's metadata, the secret's (the login gate), the value, the write, and the
    # record that these credentials work: a first login with a secret version.
    Scenario("missing parameter", {}, "refreshed", 5, 1),
    Scenario("fresh token", {}, "skipped", 1, 0),
    # A routine refresh: the credentials are known to work, nothing is recorded.
    Scenario(
        "stale token",
        {},
        "refreshed",
        4,
        1,
        env={"REFRESH_WINDOW_SECONDS": "36000"},
        expires_in=40000,
    ),
    # A forced run needs no look at the token: the secret's metadata, the value, the write.
    Scenario("operator's forced refresh", {"force": True}, "refreshed", 3, 1, operator=True),
    # A consumer's force of a token written moments ago: the budget, from the token alone.
    Scenario("consumer's forced refresh, token just written", {"force": True}, "skipped", 1, 0),
    # Credentials JOOR rejected: the token's metadata and the secret's, no value, no login.
    Scenario(
        "credentials rejected earlier",
        {},
        "failed",
        2,
        0,
        env={"REFRESH_WINDOW_SECONDS": "36000"},
        recorded="rejected",
    ),
)
VARIANTS = ("handler", "minimal", "naive", "deployed", "deployed_pyc")
VARIANT_TITLES = {
    "handler": "refresher: `app.lambda_handler`",
    "minimal": "floor: `import boto3, requests` + 1 DescribeParameters",
    "naive": "documentation-style refresher (`benchmarks/baselines/naive_doc_style.py`)",
    "deployed": "refresher loaded from a copy of the build artifact with every `.pyc` removed",
    "deployed_pyc": "refresher loaded from the build artifact + checked-hash `.pyc`",
}


class Profile:
    """How many samples: the full run for the figures, the quick one for a smoke test."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.cold_rounds = 1 if quick else 21
        self.importtime_runs = 1 if quick else 7
        self.warm_iterations = 4 if quick else 150
        self.warm_warmup = 1 if quick else 10
        self.consumer_rounds = 2 if quick else 20
        self.consumer_calls = 1000 if quick else 20000
        self.stampede_rounds = 1 if quick else 5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- statistics -------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) >= 2 else ordered * 3
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p25": quartiles[0],
        "p75": quartiles[2],
        "min": ordered[0],
        "max": ordered[-1],
    }


# --- running the workers -----------------------------------------------------------------


def memory_limit() -> tuple[int, str]:
    if TEMPLATE.exists():
        found = re.search(r"^\s*MemorySize:\s*(\d+)", TEMPLATE.read_text(), re.MULTILINE)
        if found:
            return int(found.group(1)), "template.yaml MemorySize"
    return DECIDED_MEMORY_MB, "the decided MemorySize (no template.yaml found)"


def lambda_env(stack: LocalStack, memory_mb: int) -> dict[str, str]:
    """The environment Lambda would give the function, pointed at the local servers."""
    drop = ("AWS_", "POWERTOOLS_", "PYTHON", "_X_AMZN", "LAMBDA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(stack.env(AWS_ENDPOINT_URL=stack.moto.url))
    env.update(
        AWS_CONFIG_FILE=os.devnull,  # no profile or SSO config from the workstation
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_LAMBDA_FUNCTION_NAME="TokenRefresherFunction",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(memory_mb),
        AWS_EXECUTION_ENV="AWS_Lambda_python3.13",
        POWERTOOLS_LOG_LEVEL="INFO",
    )
    return env


def run_worker(
    script: str, args: list[str], env: dict[str, str], python_flags: tuple[str, ...] = ()
) -> tuple[dict[str, Any], float, str]:
    """Run a worker in a fresh process; its figures, its wall time and its stderr."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = str(Path(tmp) / "figures.json")
        command = [sys.executable, *python_flags]
        command += [str(WORKERS / script), *(out if a == "{out}" else a for a in args)]
        started = time.perf_counter()
        # stdout is the function's log stream (JSON logs and EMF): discarded, as CloudWatch
        # would take it. stderr is read for -X importtime and for errors.
        done = subprocess.run(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            tail = "\n".join(done.stderr.splitlines()[-15:])
            raise RuntimeError(f"{script} {args[0]} failed ({done.returncode}):\n{tail}")
        return json.loads(Path(out).read_text()), wall, done.stderr


def cold(
    variant: str,
    env: dict[str, str],
    event: dict[str, Any] | None = None,
    *flags: str,
    importtime: bool = False,
    folders: dict[str, str] | None = None,
) -> tuple[dict[str, Any], float, str]:
    python_flags: tuple[str, ...] = ("-X", "importtime") if importtime else ()
    if variant.startswith("deployed"):
        # The handler loaded from the artifact; -B: like /var/task, nothing can be cached.
        flags = (*flags, "--folder", (folders or {})[variant])
        python_flags = (*python_flags, "-B")
        variant = "handler"
    args = [variant, "{out}", "--event", json.dumps(event or {}), *flags]
    return run_worker("cold.py", args, env, python_flags)


# --- 1. calls per run --------------------------------------------------------------------


def measure_calls(stack: LocalStack, env: dict[str, str]) -> dict[str, Any]:
    ssm = stack.client("ssm")
    rows = []
    for scenario in SCENARIOS:
        if scenario.name == "missing parameter":
            with stack.moto.unrecorded(), contextlib.suppress(ssm.exceptions.ParameterNotFound):
                ssm.delete_parameter(Name=PARAMETER_NAME)
        if scenario.recorded is not None:
            _record_login(stack, scenario.recorded)
        stack.joor.state.expires_in = scenario.expires_in
        stack.moto.reset_recording()
        joor_before = stack.joor.calls
        flags = ("--inspect", "--operator") if scenario.operator else ("--inspect",)
        try:
            figures, _, _ = cold("handler", {**env, **scenario.env}, scenario.event, *flags)
        finally:
            stack.joor.state.expires_in = 36000
            if scenario.recorded is not None:
                _forget_logins(stack)
        operations = stack.moto.recorded_calls()
        joor = stack.joor.calls - joor_before
        result = figures["result"]["result"]
        if result != scenario.expected:
            raise RuntimeError(
                f"{scenario.name}: the handler returned {result!r}, expected {scenario.expected!r}"
            )
        rows.append(
            {
                "scenario": scenario.name,
                "event": scenario.event,
                "operator": scenario.operator,
                "result": result,
                "aws_calls": len(operations),
                "aws_operations": operations,
                "floor_aws_calls": scenario.floor_aws,
                "joor_calls": joor,
                "floor_joor_calls": scenario.floor_joor,
                "at_floor": len(operations) <= scenario.floor_aws and joor <= scenario.floor_joor,
                "aws_clients_created": figures.get("aws_clients", []),
                "requests_imported": figures["requests_loaded"],
                "maxrss_kb": figures["maxrss_kb"],
            }
        )
    return {"counted_at": "moto server request recorder; local JOOR auth server", "rows": rows}


def _forget_logins(stack: LocalStack) -> None:
    from refresher.adapters.login_record import TAG

    with stack.moto.unrecorded():
        stack.client("secretsmanager").untag_resource(SecretId=SECRET_ID, TagKeys=[TAG])


def _record_login(stack: LocalStack, result: str) -> None:
    """What JOOR said to the secret's current version, as the refresher records it."""
    from refresher.adapters.secrets_manager import SecretsManagerCredentials
    from refresher.domain.models import LoginRecord

    client = stack.client("secretsmanager")
    source = SecretsManagerCredentials(SECRET_ID, lambda: client)
    with stack.moto.unrecorded():
        version = source.describe().current_version or ""
        source.record(LoginRecord(result, datetime.now(UTC), version))


# --- 2. cold start ----------------------------------------------------------------------


def measure_cold_start(
    env: dict[str, str], profile: Profile, folders: dict[str, str]
) -> dict[str, Any]:
    variants = [v for v in VARIANTS if not v.startswith("deployed") or v in folders]
    bytecode = {v: artifact.bytecode_files(Path(f)) for v, f in folders.items()}
    if bytecode.get("deployed"):
        raise RuntimeError(f"the no-byte-code copy holds {bytecode['deployed']} .pyc files")
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for round_ in range(profile.cold_rounds):
        # Interleaved, and each variant takes each position in turn, to cancel drift.
        shift = round_ % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            figures, wall, _ = cold(variant, env, folders=folders)
            if variant != "minimal" and figures["result"]["result"] != "skipped":
                raise RuntimeError(f"{variant}: the fresh-token run did not skip: {figures}")
            figures["process_s"] = wall
            samples[variant].append(figures)
        log(f"  cold start: round {round_ + 1}/{profile.cold_rounds}")
    stats: dict[str, Any] = {}
    for variant, runs in samples.items():
        stats[variant] = {
            key: summary([r[key] for r in runs])
            for key in ("total_s", "import_s", "invoke_s", "process_s", "maxrss_kb")
        }
    floor_runs = samples["minimal"]
    ratios = {}
    for variant in variants:
        paired = [
            r["total_s"] / f["total_s"] for r, f in zip(samples[variant], floor_runs, strict=True)
        ]
        ratios[variant] = {
            "in_process": stats[variant]["total_s"]["median"]
            / stats["minimal"]["total_s"]["median"],
            "whole_process": stats[variant]["process_s"]["median"]
            / stats["minimal"]["process_s"]["median"],
            "paired": summary(paired),
        }
    return {
        "operation": "DescribeParameters with a Name Equals filter (the same in every variant)",
        "processes_per_variant": profile.cold_rounds,
        "artifact_folders": {k: _shown(v) for k, v in folders.items()},
        "bytecode_files": bytecode,
        "variants": stats,
        "ratio_to_floor": ratios,
        "imports": measure_importtime(env, profile),
    }


def _shown(folder: str) -> str:
    path = Path(folder)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else f"(temporary) {path}"


def group_of(module: str) -> str:
    root = module.split(".", maxsplit=1)[0]
    if root in ("app", "refresher"):
        return "refresher (our code)"
    if root in sys.stdlib_module_names or root.startswith("_"):
        return "stdlib"
    return root


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


def measure_importtime(env: dict[str, str], profile: Profile) -> dict[str, Any]:
    """Where import time goes, from ``python -X importtime`` (which slows imports a little)."""
    variants = ("handler", "minimal", "naive")
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
        v: result[v]["total_s"] / result["minimal"]["total_s"] for v in ("handler", "naive")
    }
    return result


# --- 3. warm runs -------------------------------------------------------------------------


def measure_warm(env: dict[str, str], profile: Profile) -> dict[str, Any]:
    figures, _, _ = run_worker(
        "warm.py", ["{out}", str(profile.warm_iterations), str(profile.warm_warmup)], env
    )
    result: dict[str, Any] = {"iterations": profile.warm_iterations}
    for series, floor_title in (
        (
            "forced_refresh",
            "bare DescribeSecret + GetSecretValue + requests POST /auth/ + PutParameter",
        ),
        ("fresh_token", "bare DescribeParameters"),
    ):
        handler = summary(figures[series]["handler_s"])
        floor = summary(figures[series]["floor_s"])
        result[series] = {
            "floor": floor_title,
            "handler_s": handler,
            "floor_s": floor,
            "ratio": handler["median"] / floor["median"],
        }
    return result


# --- 4. memory ----------------------------------------------------------------------------


def measure_memory(
    env: dict[str, str], calls: dict[str, Any], cold_start: dict[str, Any], profile: Profile
) -> dict[str, Any]:
    limit_mb, limit_source = memory_limit()
    rows = []
    by_scenario = {row["scenario"]: row for row in calls["rows"]}
    for title, event, flags in (
        ("fresh token", {}, ()),
        ("operator's forced refresh", {"force": True}, ("--operator",)),
    ):
        rss_kb = by_scenario[title]["maxrss_kb"]
        row = {
            "run": f"refresher, {title}, fresh process",
            "maxrss_mb": rss_kb / 1024,
            "share_of_limit": rss_kb / 1024 / limit_mb,
        }
        if not profile.quick:  # tracemalloc slows a run several times over
            traced, _, _ = cold("handler", env, event, "--tracemalloc", *flags)
            row["python_heap_peak_import_mb"] = traced["tracemalloc_import_peak_b"] / 2**20
            row["python_heap_peak_invocation_mb"] = traced["tracemalloc_invoke_peak_b"] / 2**20
        rows.append(row)
    for variant in ("minimal", "naive"):
        rss_kb = cold_start["variants"][variant]["maxrss_kb"]["median"]
        rows.append(
            {
                "run": f"{VARIANT_TITLES[variant]}, fresh token",
                "maxrss_mb": rss_kb / 1024,
                "share_of_limit": rss_kb / 1024 / limit_mb,
            }
        )
    return {"limit_mb": limit_mb, "limit_source": limit_source, "rows": rows}


# --- 6. consumers (joor_token) -------------------------------------------------------------


def measure_consumer(stack: LocalStack, env: dict[str, str], profile: Profile) -> dict[str, Any]:
    from infra.local.stampede import Stampede

    env = {**env, "PYTHONPATH": str(ROOT)}
    stack.moto.reset_recording()
    first, _, _ = run_worker("consumer.py", ["{out}", "first-read"], env)
    first_read = {"aws_operations": stack.moto.recorded_calls(), "seconds": first["first_read_s"]}
    with stack.moto.unrecorded():
        cached, _, _ = run_worker(
            "consumer.py",
            ["{out}", "cached", str(profile.consumer_rounds), str(profile.consumer_calls)],
            env,
        )
        # The stored tokens are seconds old: let a rejection of them log in after 1 s.
        stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")  # noqa: S106 - seconds
        stack.joor.login_latency = STAMPEDE_LOGIN_LATENCY
        # A warm function, as a deployed one mostly is: the first lone consumer would otherwise
        # also pay the refresher's cold start.
        stack.client("lambda").invoke(FunctionName=FUNCTION_NAME, Payload=b"{}")["Payload"].read()
        lone: list[float] = []
        crowd: list[dict[str, Any]] = []
        for round_ in range(profile.stampede_rounds):
            for processes, threads in ((1, 1), (STAMPEDE_PROCESSES, STAMPEDE_THREADS)):
                time.sleep(1.1)  # the stored token is older than the minimum age
                stampede = Stampede(
                    stack,
                    stack.joor.api_url,
                    processes=processes,
                    threads=threads,
                    extra_env={"AWS_ENDPOINT_URL": stack.moto.url},
                )
                stampede.start()
                stack.lambda_.reset()
                logins = stack.joor.logins
                stack.joor.revoke_all()
                result = stampede.go()
                if result.statuses != [200] * processes * threads:
                    raise RuntimeError(f"stampede: not every consumer succeeded: {result}")
                if processes == 1:
                    lone.append(result.seconds_to_all_working)
                    continue
                counts = stack.lambda_.counts
                crowd.append(
                    {
                        "joor_logins": stack.joor.logins - logins,
                        "seconds_to_all_working": result.seconds_to_all_working,
                        "invocations_run": counts.completed,
                        "invocations_throttled": counts.throttled,
                    }
                )
            log(f"  consumer stampede: round {round_ + 1}/{profile.stampede_rounds}")
        stack.joor.login_latency = 0.0
    reader, powertools = summary(cached["reader_s"]), summary(cached["powertools_s"])
    lone_s = summary(lone)
    crowd_s = summary([c["seconds_to_all_working"] for c in crowd])
    return {
        "first_read": first_read,
        "cached_token": {
            "calls_per_round": cached["calls_per_round"],
            "rounds": profile.consumer_rounds,
            "reader_s": reader,
            "powertools_s": powertools,
            "ratio": reader["median"] / powertools["median"],
        },
        "stampede": {
            "consumers": STAMPEDE_PROCESSES * STAMPEDE_THREADS,
            "processes": STAMPEDE_PROCESSES,
            "login_latency_s": STAMPEDE_LOGIN_LATENCY,
            "rounds": crowd,
            "max_joor_logins": max(c["joor_logins"] for c in crowd),
            "lone_consumer_s": lone_s,
            "all_working_s": crowd_s,
            "ratio_to_lone": crowd_s["median"] / lone_s["median"],
        },
    }


# --- the run's context and its goals ----------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    return {
        "uname_m": platform.machine(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg()[0],
    }


def versions() -> dict[str, str]:
    found = {}
    for name in ("boto3", "botocore", "aws-lambda-powertools", "requests", "moto"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    cold_ratio = results["cold_start"]["ratio_to_floor"]["handler"]["in_process"]
    warm = results["warm"]
    rows = [
        {
            "goal": "calls per run at the floor (all scenarios)",
            "value": sum(r["at_floor"] for r in results["calls"]["rows"]),
            "target": len(results["calls"]["rows"]),
            "met": all(r["at_floor"] for r in results["calls"]["rows"]),
            "shown": f"{sum(r['at_floor'] for r in results['calls']['rows'])}"
            f"/{len(results['calls']['rows'])} at floor",
        },
        _ratio_goal("cold start, fresh token, vs floor", cold_ratio, GOALS["cold_start"]),
        _ratio_goal(
            "warm forced refresh vs bare calls",
            warm["forced_refresh"]["ratio"],
            GOALS["warm_forced_refresh"],
        ),
        _ratio_goal(
            "warm fresh-token run vs bare call",
            warm["fresh_token"]["ratio"],
            GOALS["warm_fresh_token"],
        ),
    ]
    consumer = results["consumer"]
    first_calls = len(consumer["first_read"]["aws_operations"])
    rows += [
        _ratio_goal(
            "consumer: cached `token()` vs Powertools' cached `get_parameter`",
            consumer["cached_token"]["ratio"],
            GOALS["consumer_cached_token"],
        ),
        {
            "goal": "consumer: first `token()` makes 1 AWS call (GetParameter)",
            "value": first_calls,
            "target": 1,
            "met": first_calls == 1,
            "shown": f"{first_calls} ({', '.join(consumer['first_read']['aws_operations'])})",
        },
        {
            "goal": f"consumer stampede ({consumer['stampede']['consumers']} consumers, one "
            "revocation): JOOR logins at the floor of 1",
            "value": consumer["stampede"]["max_joor_logins"],
            "target": 1,
            "met": consumer["stampede"]["max_joor_logins"] == 1,
            "shown": f"{consumer['stampede']['max_joor_logins']} (most in any of "
            f"{len(consumer['stampede']['rounds'])} rounds)",
        },
    ]
    shipped = results["artifact"].get("ships_bytecode")
    # The artifact as shipped: with its byte-code if the build has some.
    deployed = results["cold_start"]["ratio_to_floor"].get(
        "deployed_pyc" if shipped else "deployed"
    )
    if deployed is not None:
        title = "cold start as Lambda loads the artifact (byte-code shipped: " + (
            "yes)" if shipped else "no; see docs/benchmarks.md)"
        )
        rows.append(_ratio_goal(title, deployed["in_process"], GOALS["cold_start"]))
    memory = results["memory"]
    peak = max(r["maxrss_mb"] for r in memory["rows"][:2])
    rows.append(
        {
            "goal": f"peak memory within MemorySize ({memory['limit_mb']} MB)",
            "value": peak,
            "target": memory["limit_mb"],
            "met": peak < memory["limit_mb"],
            "shown": f"{peak:.0f} MB ({peak / memory['limit_mb']:.0%})",
        }
    )
    return rows


def _ratio_goal(title: str, value: float, target: float) -> dict[str, Any]:
    return {
        "goal": title,
        "value": value,
        "target": target,
        "met": value <= target,
        "shown": f"{value:.2f}x (goal <= {target:.2f}x)",
    }


# --- the whole run ---------------------------------------------------------------------------


def measure_all(profile: Profile, *, artifact_size: bool = True) -> dict[str, Any]:
    """Every section in one run, as the results dict that render.py and the JSON file take.
    ``artifact_size=False`` skips the build artifact (its size and the cold starts from it)."""
    started = time.monotonic()
    meta = {
        "command": COMMAND + (" (quick)" if profile.quick else ""),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "quick": profile.quick,
    }
    memory_mb, _ = memory_limit()
    with contextlib.ExitStack() as cleanup:
        folders: dict[str, str] = {}
        # The artifact first: the cold-start section also loads the handler from it.
        log("bench: 5/5 artifact size (measured first)")
        if not artifact_size:
            size: dict[str, Any] = {"skipped": "--no-artifact"}
        else:
            build_dir, source = artifact.locate(log)
            size = artifact.measure(build_dir, source)
            plain = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-no-pyc-"))
            folders = {
                "deployed": str(artifact.without_bytecode(build_dir, Path(plain) / build_dir.name)),
                "deployed_pyc": str(artifact.compiled_copy(build_dir)),
            }
        log("bench: starting moto server and the local JOOR auth server (loopback)...")
        stack = cleanup.enter_context(LocalStack(secret_events=False))
        stack.put_secret()
        env = lambda_env(stack, memory_mb)
        log("bench: 1/5 calls per run")
        calls = measure_calls(stack, env)
        # Timed sections: the recorder would only add file writes to every request.
        with stack.moto.unrecorded():
            log("bench: 2/5 cold start")
            cold_start = measure_cold_start(env, profile, folders)
            log("bench: 3/5 warm runs")
            warm = measure_warm(env, profile)
            log("bench: 4/5 memory")
            memory = measure_memory(env, calls, cold_start, profile)
        log("bench: 6/6 consumers (joor_token)")
        consumer = measure_consumer(stack, env, profile)
        log("bench: a fleet of JOOR accounts (benchmarks/fleet.py; empties the stack first)")
        fleet_figures = fleet.measure(profile.quick, stack, lambda _: env, run_worker, log)
    results: dict[str, Any] = {
        "meta": meta,
        "calls": calls,
        "cold_start": cold_start,
        "warm": warm,
        "memory": memory,
        "artifact": size,
        "consumer": consumer,
        "fleet": fleet_figures,
    }
    results["goals"] = goals(results)
    meta["duration_s"] = round(time.monotonic() - started, 1)
    return results
