"""What every deploy tool shares: its command line, samconfig.toml's values, its AWS session,
how it runs the SAM CLI and how it says it failed.

What `sam deploy --config-env ENV` would deploy: samconfig.toml's values over the template's
defaults, read the way the SAM CLI reads them: `[ENV.deploy.parameters]` first, then
`[ENV.global.parameters]`; `parameter_overrides` is a string (or a list of strings) of
`Key="Value"` pairs. Parameters the file does not set take their template default.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ProfileNotFound

from infra.deploy.names import load_template
from refresher.aws_region import HOW_TO_SET, region_from_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_FILE = REPO_ROOT / "samconfig.toml"
DEFAULT_TEMPLATE_FILE = REPO_ROOT / "template.yaml"

# Key=Value, Key="Value with spaces" or Key='Value'; SAM CLI's own format for overrides.
_OVERRIDE = re.compile(r"""(\w+)=(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))""")


class ConfigError(Exception):
    """samconfig.toml or the template cannot be read as needed; the message says why."""

    check = "configuration"  # the preflight line that reports it


class RegionError(ConfigError):
    """No Region anywhere a deploy tool looks; the message says where to set one."""

    check = "region"


class ProfileError(ConfigError):
    """The AWS profile named does not exist; the message says where profiles come from."""

    check = "credentials"


@dataclass(frozen=True)
class DeployConfig:
    environment: str
    stack_name: str
    region: str | None
    profile: str | None
    parameters: dict[str, str] = field(default_factory=dict)
    # The template's parameter specifications (AllowedPattern, Default, ...), by name.
    parameter_specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    template_file: Path = DEFAULT_TEMPLATE_FILE


def parse_overrides(value: str | list[str] | None) -> dict[str, str]:
    """`Key="Value" Other=2` (or a list of such strings) => {"Key": "Value", "Other": "2"}."""
    if value is None:
        return {}
    texts = value if isinstance(value, list) else [value]
    parsed: dict[str, str] = {}
    for text in texts:
        for key, double, single, bare in _OVERRIDE.findall(str(text)):
            if double:
                parsed[key] = re.sub(r"\\(.)", r"\1", double)
            else:
                parsed[key] = single or bare
    return parsed


def template_parameters(template_file: Path = DEFAULT_TEMPLATE_FILE) -> dict[str, dict[str, Any]]:
    try:
        template = load_template(template_file)
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read the template {template_file}: {err}") from None
    parameters: dict[str, dict[str, Any]] = template.get("Parameters", {})
    return parameters


def load(
    environment: str = "default",
    config_file: Path = DEFAULT_CONFIG_FILE,
    template_file: Path = DEFAULT_TEMPLATE_FILE,
    overrides: str | None = None,
) -> DeployConfig:
    try:
        config = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read {config_file}: {err}") from None
    if environment not in config:
        known = ", ".join(k for k, v in config.items() if isinstance(v, dict)) or "none"
        raise ConfigError(
            f"{config_file.name} has no environment {environment!r} (it has: {known})"
        )
    env = config[environment]
    deploy: dict[str, Any] = env.get("deploy", {}).get("parameters", {})
    shared: dict[str, Any] = env.get("global", {}).get("parameters", {})

    def setting(name: str) -> Any:
        return deploy.get(name, shared.get(name))

    stack_name = setting("stack_name")
    if not stack_name:
        raise ConfigError(f"{config_file.name} [{environment}] sets no stack_name")
    specs = template_parameters(template_file)
    parameters = {name: str(spec["Default"]) for name, spec in specs.items() if "Default" in spec}
    parameters |= parse_overrides(setting("parameter_overrides"))
    parameters |= parse_overrides(overrides)
    return DeployConfig(
        environment=environment,
        stack_name=str(stack_name),
        region=setting("region"),
        profile=setting("profile"),
        parameters=parameters,
        parameter_specs=specs,
        template_file=template_file,
    )


def no_region_message(environment: str) -> str:
    """What to do when no Region is set anywhere a deploy tool looks."""
    return (
        f"no AWS Region: {HOW_TO_SET}, add region to samconfig.toml [{environment}], "
        "or pass --region"
    )


def session(
    config: DeployConfig, region: str | None = None, profile: str | None = None
) -> boto3.Session:
    """The session a deploy tool works in: --region, then samconfig.toml's region, then the
    environment (AWS_REGION too, which botocore alone does not read), then the profile's."""
    return boto3.Session(
        profile_name=profile or config.profile,
        region_name=region or config.region or region_from_environment(),
    )


# --- the command line and the session every tool shares -------------------------------------


@dataclass(frozen=True)
class Invocation:
    """A tool's command line, the environment's configuration it names, and the session."""

    args: argparse.Namespace
    config: DeployConfig
    session: boto3.Session

    @property
    def region(self) -> str:
        return str(self.session.region_name)


def tool_parser(
    module: str,
    description: str,
    *,
    template: bool = False,
    overrides: bool = False,
    sam: bool = False,
) -> argparse.ArgumentParser:
    """The parser of `python -m infra.deploy.MODULE`, with the options every tool shares."""
    parser = argparse.ArgumentParser(
        prog=f"python -m infra.deploy.{module}", description=description
    )
    add_arguments(parser, template=template, overrides=overrides)
    if sam:
        parser.add_argument("--sam", default=".venv-sam/bin/sam", help="the SAM CLI to run")
    return parser


def add_arguments(
    parser: argparse.ArgumentParser, *, template: bool = False, overrides: bool = False
) -> None:
    """--config-env, --config-file, --region, --profile (and --template-file, overrides)."""
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment")
    parser.add_argument("--config-file", default=None, help="default: samconfig.toml")
    if template:
        parser.add_argument("--template-file", default=None, help="default: template.yaml")
    if overrides:
        parser.add_argument(
            "--parameter-overrides",
            default=None,
            help='extra Key="Value" pairs, e.g. CredentialsSecretArn="arn:aws:..." before the '
            "first deploy",
        )
    parser.add_argument("--region", default=None, help="default: samconfig.toml, AWS_REGION")
    parser.add_argument("--profile", default=None, help="default: samconfig.toml, AWS_PROFILE")


def config_file(args: argparse.Namespace) -> Path:
    return Path(args.config_file) if args.config_file else DEFAULT_CONFIG_FILE


def from_arguments(args: argparse.Namespace) -> DeployConfig:
    """The environment's configuration the command line names; ConfigError when unreadable."""
    template = getattr(args, "template_file", None)
    return load(
        args.config_env,
        config_file(args),
        Path(template) if template else DEFAULT_TEMPLATE_FILE,
        getattr(args, "parameter_overrides", None),
    )


def session_for(config: DeployConfig, args: argparse.Namespace) -> boto3.Session:
    """The session the command line and samconfig.toml name; RegionError without a Region,
    ProfileError for a profile that does not exist."""
    try:
        found = session(config, args.region, args.profile)
    except ProfileNotFound as err:
        raise ProfileError(
            f"{err}: check AWS_PROFILE, --profile, or profile in samconfig.toml"
        ) from None
    if not found.region_name:
        raise RegionError(no_region_message(config.environment))
    return found


def invocation(args: argparse.Namespace) -> Invocation:
    """The configuration and session the parsed command line names; ConfigError (or one of its
    kinds) when either cannot be had."""
    config = from_arguments(args)
    return Invocation(args, config, session_for(config, args))


def failed(err: Exception | str) -> int:
    """Say on stderr that the tool failed, and why; the exit status 1."""
    print(f"FAILED: {err}", file=sys.stderr)
    return 1


def run_sam(tool: Invocation, command: list[str]) -> int:
    """Run a SAM CLI command (with the --profile asked for, telemetry off), echoed first; its
    exit status."""
    if tool.args.profile:
        command = [*command, "--profile", tool.args.profile]
    print("$ " + shlex.join(command), flush=True)
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, env=env, check=False).returncode
