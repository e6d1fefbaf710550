"""One invocation in a fresh process, the way Lambda runs one after starting an environment.

    python benchmarks/workers/cold.py VARIANT OUT.json [--event JSON] [--tracemalloc]

VARIANT is ``handler`` (functions/token_refresher/app.py), ``minimal`` or ``naive``
(benchmarks/baselines/). The clock starts at this file's first statement, so interpreter
start-up (the same for every variant) is left out; ``benchmarks.run`` times the whole
process from outside as well. The handler's stdout (JSON logs, EMF) is whatever the parent
gave: /dev/null, as CloudWatch would take it.
"""

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 - after the clock starts, and the same for every variant
import importlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
IMPORT_MARK = "bench: importing the handler module"
MODULES = {
    "handler": (ROOT / "functions" / "token_refresher", "app"),
    "minimal": (ROOT / "benchmarks" / "baselines", "minimal"),
    "naive": (ROOT / "benchmarks" / "baselines", "naive_doc_style"),
}


class Context:
    """What Lambda passes: the fields Powertools reads and the remaining time."""

    function_name = "TokenRefresherFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:TokenRefresherFunction"
    function_version = "$LATEST"
    log_group_name = "/aws/lambda/TokenRefresherFunction"
    log_stream_name = "bench"

    def __init__(self, timeout: float = 100.0, *, operator: bool = False) -> None:
        self.aws_request_id = str(uuid.uuid4())
        if operator:  # invoked through the stack's operator alias
            self.invoked_function_arn += ":operator"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def peak_rss_kb() -> int:
    """This process's peak resident memory. (ru_maxrss would not do: Linux carries the
    parent's peak across fork and exec, so every worker would report the orchestrator's.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def aws_clients() -> list[str]:
    """The service of every live botocore client, found after the run (not timed)."""
    if "botocore.client" not in sys.modules:
        return []
    import gc

    from botocore.client import BaseClient

    return sorted(
        o.meta.service_model.service_name for o in gc.get_objects() if isinstance(o, BaseClient)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=sorted(MODULES))
    parser.add_argument("out")
    parser.add_argument("--event", default="{}")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--inspect", action="store_true", help="list the AWS clients created")
    parser.add_argument("--folder", help="load the module from here (e.g. a build artifact)")
    parser.add_argument("--operator", action="store_true", help="invoke through the alias")
    args = parser.parse_args()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    folder, name = MODULES[args.variant]
    if args.folder:
        folder = Path(args.folder)
    sys.path.insert(0, str(folder))
    # Under -X importtime, benchmarks.run counts only the imports after this line.
    print(IMPORT_MARK, file=sys.stderr, flush=True)
    before_import = time.perf_counter()
    module = importlib.import_module(name)
    imported = time.perf_counter()
    modules_after_import = len(sys.modules)
    if args.tracemalloc:
        tracemalloc.reset_peak()
        import_peak = tracemalloc.get_traced_memory()[1]
    try:
        result = module.lambda_handler(json.loads(args.event), Context(operator=args.operator))
    except Exception as error:  # noqa: BLE001 - a failed run is a figure too
        result = {"result": "failed", "error": type(error).__name__}
    done = time.perf_counter()
    figures = {
        "variant": args.variant,
        "result": result,
        "harness_s": before_import - STARTED,
        "import_s": imported - before_import,
        "invoke_s": done - imported,
        "total_s": done - STARTED,
        "maxrss_kb": peak_rss_kb(),
        "modules_after_import": modules_after_import,
        "modules_after_invoke": len(sys.modules),
        "requests_loaded": "requests" in sys.modules,
    }
    if args.inspect:
        figures["aws_clients"] = aws_clients()
    if args.tracemalloc:
        figures["tracemalloc_import_peak_b"] = import_peak
        figures["tracemalloc_invoke_peak_b"] = tracemalloc.get_traced_memory()[1]
    Path(args.out).write_text(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
