"""``make bench``'s rendering: the results dict of a run as the Markdown block that
docs/benchmarks.md shows, one function per section. It reads nothing but the results (and the
goals' targets), so a results file renders the same later."""

from __future__ import annotations

from typing import Any

from benchmarks.goals import GOALS


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def mb(size: float) -> str:
    return f"{size / 1e6:.2f} MB"


def render(results: dict[str, Any]) -> str:
    lines = [
        *render_header(results["meta"]),
        *render_goals(results["goals"]),
        *render_calls(results["calls"]),
        *render_cold_start(results["cold_start"]),
        *render_warm(results["warm"]),
        *render_memory(results["memory"]),
        *render_artifact(results["artifact"]),
        *render_consumer(results["consumer"]),
        *render_fleet(results["fleet"]),
    ]
    return "\n".join(lines) + "\n"


def render_header(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    return [
        f"Command: `{meta['command']}` · {meta['date']} · {m['uname_m']}, {m['nproc']} cores "
        f"({m['cpu']}), Python {m['python']}, load average {m['load_average_at_start']:.2f} "
        f"at start, {meta['duration_s']:.0f} s"
        f"{' · QUICK RUN: too few samples to quote' if meta['quick'] else ''}",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
    ]


def render_goals(goals: list[dict[str, Any]]) -> list[str]:
    out = ["", "### Goals", "", "| goal | figure | met |", "|---|---|---|"]
    for goal in goals:
        out.append(f"| {goal['goal']} | {goal['shown']} | {'yes' if goal['met'] else 'NO'} |")
    return out


def render_calls(calls: dict[str, Any]) -> list[str]:
    out = [
        "",
        "### 1. AWS and JOOR calls per run (cold process; counted at moto and the auth server)",
        "",
        "| scenario | result | AWS calls (floor) | JOOR calls (floor) | AWS operations | "
        "clients created | requests imported |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in calls["rows"]:
        ops = ", ".join(op.split(".")[-1] for op in r["aws_operations"])
        out.append(
            f"| {r['scenario']} | {r['result']} | {r['aws_calls']} ({r['floor_aws_calls']}) | "
            f"{r['joor_calls']} ({r['floor_joor_calls']}) | {ops} | "
            f"{', '.join(r['aws_clients_created'])} | {'yes' if r['requests_imported'] else 'no'} |"
        )
    return out


def render_cold_start(c: dict[str, Any]) -> list[str]:
    out = [
        "",
        f"### 2. Cold start: fresh process, import + one fresh-token run "
        f"(median of {c['processes_per_variant']} processes each, interleaved)",
        "",
        f"Every variant makes the same AWS call: {c['operation']}. *In process* starts at the "
        "worker's first line (interpreter start-up left out); *whole process* is spawn to exit.",
        "",
        "*Ratio* is median over median; *paired* is the median (p25-p75) of each process's "
        "ratio to the floor process of the same round. The last two rows load the handler from "
        "the build artifact with `python -B`, as Lambda loads a read-only `/var/task`: from a "
        "copy with every `.pyc` removed, where every module outside the runtime is compiled on "
        "each cold start, and with checked-hash `.pyc`; the two show what shipping byte-code "
        "buys.",
        "",
        "| variant | in process (p25-p75) | ratio | paired ratio | whole process | ratio | "
        "module import | first invocation |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant, v in c["variants"].items():
        ratio = c["ratio_to_floor"][variant]
        paired = ratio["paired"]
        out.append(
            f"| {c['titles'][variant]} | {ms(v['total_s']['median'])} "
            f"({ms(v['total_s']['p25'])}-{ms(v['total_s']['p75'])}) | "
            f"{ratio['in_process']:.2f}x | {paired['median']:.2f}x "
            f"({paired['p25']:.2f}-{paired['p75']:.2f}) | {ms(v['process_s']['median'])} | "
            f"{ratio['whole_process']:.2f}x | {ms(v['import_s']['median'])} | "
            f"{ms(v['invoke_s']['median'])} |"
        )
    return out + render_imports(c["imports"], c["titles"])


def render_imports(imports: dict[str, Any], titles: dict[str, str]) -> list[str]:
    out = [
        "",
        f"Import time only (`python -X importtime`, every import from loading the handler module "
        f"to the end of the run, lazy ones included; median of {imports['runs_per_variant']} "
        "processes each; importtime itself slows imports):",
        "",
        "| variant | all imports | ratio | largest packages (self time) |",
        "|---|---|---|---|",
    ]
    for variant, ratio in imports["ratio_to_floor"].items():
        i = imports[variant]
        top = ", ".join(f"{g} {ms(s)}" for g, s in list(i["by_package_s"].items())[:6])
        out.append(f"| {titles[variant]} | {ms(i['total_s'])} | {ratio:.2f}x | {top} |")
    return out


def render_warm(w: dict[str, Any]) -> list[str]:
    out = [
        "",
        f"### 3. Warm runs in one process ({w['iterations']} iterations each, alternated with "
        "the floor)",
        "",
        "| run | refresher median (p25-p75) | floor | floor median (p25-p75) | ratio | goal |",
        "|---|---|---|---|---|---|",
    ]
    for series, title, goal in (
        ("forced_refresh", "operator's forced refresh", GOALS["warm_forced_refresh"]),
        ("fresh_token", "fresh token", GOALS["warm_fresh_token"]),
    ):
        s = w[series]
        out.append(
            f"| {title} | {ms(s['handler_s']['median'])} ({ms(s['handler_s']['p25'])}-"
            f"{ms(s['handler_s']['p75'])}) | {s['floor']} | {ms(s['floor_s']['median'])} "
            f"({ms(s['floor_s']['p25'])}-{ms(s['floor_s']['p75'])}) | {s['ratio']:.2f}x | "
            f"<= {goal:.2f}x |"
        )
    return out


def render_memory(mem: dict[str, Any]) -> list[str]:
    out = [
        "",
        f"### 4. Peak memory of an invocation (limit {mem['limit_mb']} MB: {mem['limit_source']})",
        "",
        "| run | max RSS | share of limit | Python heap peak: import / invocation |",
        "|---|---|---|---|",
    ]
    for r in mem["rows"]:
        heap = "-"
        if "python_heap_peak_invocation_mb" in r:
            heap = (
                f"{r['python_heap_peak_import_mb']:.1f} MB / "
                f"{r['python_heap_peak_invocation_mb']:.1f} MB"
            )
        out.append(f"| {r['run']} | {r['maxrss_mb']:.1f} MB | {r['share_of_limit']:.0%} | {heap} |")
    return out


def render_artifact(a: dict[str, Any]) -> list[str]:
    out = ["", "### 5. Artifact size", ""]
    if "skipped" in a:
        return [*out, f"Skipped: {a['skipped']}"]
    out += [
        f"Measured: {a['source']}.",
        "",
        f"{a['files']} files, **{mb(a['unzipped_bytes'])} unzipped, {mb(a['zipped_bytes'])} "
        f"zipped**; boto3 bundled: "
        f"{'yes' if a['boto3_bundled'] else 'no (the runtime provides it)'}; "
        f"byte-code shipped: {'yes' if a['ships_bytecode'] else 'no'}.",
        "",
        "| part | unzipped | zipped |",
        "|---|---|---|",
    ]
    for p in a["largest_parts"]:
        out.append(f"| {p['name']} | {mb(p['unzipped_bytes'])} | {mb(p['zipped_bytes'])} |")
    return out


def render_consumer(c: dict[str, Any]) -> list[str]:
    t = c["cached_token"]
    us = 1e6
    operations = [op.split(".")[-1] for op in c["first_read"]["aws_operations"]]
    out = [
        "",
        "### 6. Consumers: the `joor_token` package (clients/python)",
        "",
        f"First `token()` of a new reader in a fresh process: {len(operations)} AWS call "
        f"({', '.join(operations)}), {ms(c['first_read']['seconds'])} with the client's creation.",
        "",
        f"Cached token, one process, {t['rounds']} alternated rounds of "
        f"{t['calls_per_round']} calls each (per call, median (p25-p75)):",
        "",
        "| call | per call | ratio | goal |",
        "|---|---|---|---|",
        f"| `TokenReader.token()` | {t['reader_s']['median'] * us:.2f} µs "
        f"({t['reader_s']['p25'] * us:.2f}-{t['reader_s']['p75'] * us:.2f}) | {t['ratio']:.2f}x | "
        f"<= {GOALS['consumer_cached_token']:.2f}x |",
        f"| Powertools `parameters.get_parameter(..., decrypt=True, max_age=300)` | "
        f"{t['powertools_s']['median'] * us:.2f} µs ({t['powertools_s']['p25'] * us:.2f}-"
        f"{t['powertools_s']['p75'] * us:.2f}) | 1.00x | |",
    ]
    return out + render_stampede(c["stampede"])


def render_stampede(st: dict[str, Any]) -> list[str]:
    out = [
        "",
        f"Revocation stampede: {st['consumers']} consumers ({st['processes']} processes of "
        f"{st['consumers'] // st['processes']} threads, each process with its own `TokenReader`) "
        "hold the stored token when JOOR revokes it, then all call the protected stand-in API at "
        "once with `JoorBearerAuth`. The refresher runs behind the Lambda Invoke stand-in with "
        f"reserved concurrency 1; each JOOR login takes {st['login_latency_s']:g} s. The floor is "
        "one consumer alone going through the same 401, renewal and resend.",
        "",
        "| round | JOOR logins (floor 1) | invocations run / throttled | all working after |",
        "|---|---|---|---|",
    ]
    for number, r in enumerate(st["rounds"], 1):
        out.append(
            f"| {number} | {r['joor_logins']} | {r['invocations_run']} / "
            f"{r['invocations_throttled']} | {ms(r['seconds_to_all_working'])} |"
        )
    out += [
        "",
        "Time until every consumer had a working token: median "
        f"{ms(st['all_working_s']['median'])} against "
        f"{ms(st['lone_consumer_s']['median'])} for one consumer alone "
        f"({st['ratio_to_lone']:.2f}x), with one login taking {st['login_latency_s']:g} s. The "
        "consumers whose invocation met the running one (429) wait a jittered 0.25-0.5 s, "
        "doubling up to 5 s, and read the new version when it is there.",
    ]
    return out


def render_fleet(fleet: dict[str, Any]) -> list[str]:
    out = [
        "",
        f"### 7. A fleet: many JOOR accounts in one deployment ({fleet['logins_in_flight']} "
        f"logins in flight; JOOR answers each login after {fleet['login_latency_s']:g} s)",
    ]
    if "fresh" in fleet:
        out += render_fresh_fleet(fleet["fresh"], fleet["capacity"])
    return out + render_stale_fleet(fleet) + render_capacity(fleet)


def render_fresh_fleet(f: dict[str, Any], cap: dict[str, Any]) -> list[str]:
    calls = ", ".join(f"{n} {op}" for op, n in sorted(f["aws_calls"].items()))
    floor = ", ".join(f"{n} {op}" for op, n in sorted(f["floor_aws_calls"].items()))
    warm = ""
    if "warm_wall_s" in f:
        warm = (
            f", {f['warm_wall_s']:.2f} s warm: at most "
            f"{cap['listing_page_s_measured'] * 1000:.0f} ms a listing page here"
        )
    heap = (
        f", Python heap peak {f['python_heap_peak_mb']:.1f} MB"
        if "python_heap_peak_mb" in f
        else ""
    )
    return [
        "",
        f"**{f['accounts']} fresh tokens**: {calls} (floor: {floor}), "
        f"{f['joor_calls']} JOOR calls: {'at' if f['at_floor'] else 'ABOVE'} the floor. "
        f"{f['wall_s']:.2f} s in a fresh process{warm}. "
        f"Peak memory {f['maxrss_mb']:.0f} MB RSS{heap}.",
    ]


def render_stale_fleet(fleet: dict[str, Any]) -> list[str]:
    timeout, reserved = fleet["stale_timeout_s"], fleet["reserved_s"]
    out = [
        "",
        f"**Stale tokens** (every token inside the window), one scheduled run through the "
        f"handler with a {timeout:g} s Lambda context ({timeout - reserved:g} s for the JOOR "
        f"exchanges, {reserved:g} s kept for the last write):",
        "",
        "| accounts | logins started a second | refreshed in the run | left for the next run | "
        "run time | AWS calls per refresh | runs the backlog takes | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in fleet["stale_runs"]:
        per = r["calls_per_refresh"]
        runs = r["runs_for_backlog"]
        runs_text = "1 (measured)" if not r["left_for_next_run"] else f"{runs} (computed: N / C)"
        out.append(
            f"| {r['accounts']} | {r['logins_per_second']} | {r['refreshed']} | "
            f"{r['left_for_next_run']} | {r['wall_s']:.1f} s | "
            f"{' + '.join(f'{n:.2g} {op}' for op, n in per.items())} | "
            f"{runs_text} | {r['maxrss_mb']:.0f} MB |"
        )
    traced = fleet.get("stale_traced")
    if traced:
        out += [
            "",
            f"Under tracemalloc, a run over {traced['accounts']} stale tokens "
            f"({traced['refreshed']} refreshed) peaks at "
            f"{traced['python_heap_peak_mb']:.1f} MB of Python heap "
            f"({traced['maxrss_mb']:.0f} MB RSS).",
        ]
    return out


def render_capacity(fleet: dict[str, Any]) -> list[str]:
    cap = fleet["capacity"]
    k = cap["runs_per_token_cycle"]
    lifetime, window, interval = fleet["token_lifetime_s"], fleet["window_s"], fleet["interval_s"]
    out = [
        "",
        f"**The largest fleet one deployment keeps within the guarantee.** A token falls due "
        f"once per lifetime - window = {lifetime} - {window} s, so in steady state "
        f"N · {interval} / {lifetime - window} = N / {k:g} tokens fall due per "
        f"{interval // 60}-minute run. The guarantee holds while that is at most the capacity C "
        f"of one run: N ≤ {k:g} · C.",
        "",
        "| logins started a second | C (measured, accounts in the run) | largest fleet: "
        f"{k:g} · C | the same if each listing page took {cap['assumed_aws_page_s']:g} s |",
        "|---|---|---|---|",
    ]
    for row in cap["rows"]:
        out.append(
            f"| {row['logins_per_second']} | {row['capacity_per_run']} "
            f"({row['measured_with_accounts']}) | **{row['largest_fleet']}** | "
            f"{row['largest_fleet_with_slow_listing']} |"
        )
    if not cap["rows"]:
        out.append("| - | every run finished its fleet: no capacity measured | - | - |")
    return out
