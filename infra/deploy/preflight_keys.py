"""The preflight's checks of the KMS keys: each secret encrypted with a key the function may
use, and each customer managed key the stack names enabled, in its Region, with a key policy
that lets IAM policies grant its use (key_policy.py judges the policy)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.checks import Check, arn_region, listed, secret_name
from infra.deploy.config import DeployConfig
from infra.deploy.key_policy import Request, allows
from refresher.adapters.aws_errors import describe, error_code

# What each customer managed key must let IAM policies grant, by template parameter.
KEY_USES = {
    "TokenKmsKeyArn": ("kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"),
    "SecretKmsKeyArn": ("kms:Decrypt",),
}


class KeyChecks:
    """``client`` makes the read-only client of a service, as the preflight's do."""

    def __init__(self, config: DeployConfig, client: Callable[[str], Any], region: str) -> None:
        self.parameters = config.parameters
        self._client = client
        self.region = region

    def secret_keys(self, secrets: Sequence[str]) -> Check:
        """Each secret encrypted with a key the function may use: aws/secretsmanager, or the
        one customer managed key the stack grants (SecretKmsKeyArn)."""
        granted = self.parameters.get("SecretKmsKeyArn", "")
        sm = self._client("secretsmanager")
        kms = self._client("kms")
        keys: dict[str, str | None] = {}  # KmsKeyId as the secret names it => CMK ARN, or None
        wrong, unknown = [], []
        for secret in secrets:
            try:
                key_id = sm.describe_secret(SecretId=secret).get("KmsKeyId")
                if key_id and key_id not in keys:
                    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
                    managed_by_aws = metadata.get("KeyManager") == "AWS"
                    keys[key_id] = None if managed_by_aws else str(metadata["Arn"])
            except (ClientError, BotoCoreError) as err:
                unknown.append(f"{secret_name(secret)} ({describe(err)})")
                continue
            key = keys.get(key_id) if key_id else None
            if key is not None and key != granted:
                wrong.append(f"{secret_name(secret)}: {key}")
        if wrong:
            grant = f"SecretKmsKeyArn={granted}" if granted else "no SecretKmsKeyArn"
            return Check(
                "secret keys",
                False,
                f"{len(wrong)} secret(s) are encrypted with a customer managed key the stack "
                f"does not grant ({grant}), so the function could not decrypt them: "
                f"{listed(wrong)}. Set SecretKmsKeyArn to that key (one key serves every "
                "secret of the stack), or re-encrypt: aws secretsmanager update-secret "
                "--secret-id NAME --kms-key-id KEY",
            )
        if unknown:
            return Check(
                "secret keys",
                True,
                f"cannot tell which key encrypts {listed(unknown)} (needs "
                "secretsmanager:DescribeSecret and kms:DescribeKey)",
                warning=True,
            )
        used = f"aws/secretsmanager or {granted}" if granted else "aws/secretsmanager"
        return Check("secret keys", True, f"all {len(secrets)} encrypted with {used}")

    def kms_keys(self, caller: str, named: bool) -> list[Check]:
        """Each customer managed key the stack names; ``caller`` is the account the
        credentials belong to (empty: the key's), ``named`` whether the function serves one
        named account only (its requests then carry that account's ARNs)."""
        return [
            self._kms_key(parameter, uses, caller, named)
            for parameter, uses in KEY_USES.items()
            if self.parameters.get(parameter)
        ]

    def _kms_key(self, parameter: str, uses: Sequence[str], caller: str, named: bool) -> Check:
        arn = self.parameters[parameter]
        name = parameter
        if arn_region(arn) != self.region:
            return Check(
                name,
                False,
                f"{arn} is in {arn_region(arn) or '(unknown)'}, not {self.region}: use a key in "
                "the region of the stack and the secret",
            )
        kms = self._client("kms")
        try:
            metadata = kms.describe_key(KeyId=arn)["KeyMetadata"]
        except (ClientError, BotoCoreError) as err:
            if error_code(err) == "NotFoundException":
                return Check(name, False, f"no KMS key {arn}: check the key id and region")
            return Check(name, False, f"cannot describe {arn} ({describe(err)})")
        state = metadata.get("KeyState")
        if state != "Enabled":
            return Check(name, False, f"{arn} is {state}: enable it (or cancel its deletion)")
        try:
            policy = json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
        except (ClientError, BotoCoreError) as err:
            return Check(
                name,
                True,
                f"{arn} is enabled, but its key policy could not be read ({describe(err)}; reading "
                "it needs kms:GetKeyPolicy): check yourself that it lets IAM policies of the "
                "account use the key (docs/operations.md, Customer managed KMS keys)",
                warning=True,
            )
        partition, key_account = arn.split(":")[1], arn.split(":")[4]
        request = self._key_request(parameter, partition, key_account, caller or key_account, named)
        verdicts = {use: allows(policy, arn, use, request) for use in uses}
        missing = [use for use, verdict in verdicts.items() if verdict.allowed is False]
        if missing:
            return Check(
                name,
                False,
                f"the key policy of {arn} does not let IAM policies grant {', '.join(missing)}, "
                "so the stack's grants would do nothing: add the statement that allows the "
                f"account root (arn:{partition}:iam::{key_account}:root) kms:* "
                "(docs/operations.md, Customer managed KMS keys)",
            )
        unsure = {verdict.reason for verdict in verdicts.values() if verdict.allowed is None}
        if unsure:
            return Check(
                name,
                True,
                f"{arn} is enabled; whether its policy lets the function use it depends on "
                f"conditions preflight cannot judge ({'; '.join(sorted(unsure))}): check "
                f"that they hold for requests through {request.via_service} in {self.region}",
                warning=True,
            )
        return Check(name, True, f"{arn} is enabled and its policy lets IAM grant its use")

    def _key_request(
        self, parameter: str, partition: str, account: str, caller: str, named: bool
    ) -> Request:
        """The function's requests with this key, as far as a key policy can ask."""
        if parameter == "TokenKmsKeyArn":
            context = {}
            if named:
                name = self.parameters.get("TokenParameterName", "")
                context["PARAMETER_ARN"] = (
                    f"arn:{partition}:ssm:{self.region}:{account}:parameter{name}"
                )
            return Request(caller, self.region, "ssm", context)
        context = {"SecretARN": self.parameters["CredentialsSecretArn"]} if named else {}
        return Request(caller, self.region, "secretsmanager", context)
