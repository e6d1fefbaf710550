// Reading the JOOR token kept by the JOOR token refresher, from Node.js (AWS SDK v3).
//
//   import { TokenReader, fetchWithToken } from "./joor-token.mjs";
//   const reader = new TokenReader();       // JOOR_TOKEN_PARAMETER, JOOR_TOKEN_REFRESHER_FUNCTION
//   const response = await fetchWithToken(reader, url, init);   // on a 401: one renewal, one resend
//
// The same rules as the Python package joor_token (clients/python): the token is cached for
// maxAgeSeconds (at most 3600 s, the least life the stack guarantees); a 401 invokes the
// refresher once per rejected version for all concurrent callers, and reads the version its
// summary names; while the refresher is busy (HTTP 429) the reader waits for a newer version,
// up to busyWaitSeconds; when the refresher declines, no new token exists, so the 401 is
// returned, with a warning that says why. Nothing here logs or throws a token. The event sent
// and the summary read are the function's invocation contract, written once in the
// repository's docs/operations.md, section "Events".
//
// Log lines go to `logger` (default: warnings to console.warn, nothing else); pass
// `logger: console` to see when a token is renewed as well.
//
// The region: the AWS SDK for JavaScript v3 reads AWS_REGION (and the config profile's
// `region`), not AWS_DEFAULT_REGION (@smithy/core config: REGION_ENV_NAME = "AWS_REGION").

import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";

const MAX_AGE_LIMIT_SECONDS = 3600;

export class JoorTokenError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = this.constructor.name;
  }
}
export class ConfigurationError extends JoorTokenError {}
export class TokenUnavailableError extends JoorTokenError {}
export class RefreshFailedError extends JoorTokenError {}
export class RefreshRateLimitedError extends RefreshFailedError {
  constructor(message, retryAfterSeconds) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const QUIET_LOGGER = Object.freeze({
  info() {},
  warn: (...args) => console.warn(...args),
});

function redact(text, secrets) {
  let result = String(text ?? "");
  for (const secret of secrets) if (secret) result = result.split(secret).join("[redacted]");
  return result.replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, 400);
}

export class TokenReader {
  #name;
  #fn;
  #maxAgeMs;
  #busyWaitMs;
  #ssm;
  #lambda;
  #cached = null; // { value, version, readAt }
  #loading = null; // the read in progress, shared by concurrent callers
  #flights = new Map(); // rejected version -> promise of the renewal
  #rateLimited = null; // { version, until, after }
  #logger;

  constructor({
    parameterName = process.env.JOOR_TOKEN_PARAMETER,
    refresherFunction = process.env.JOOR_TOKEN_REFRESHER_FUNCTION || null,
    maxAgeSeconds = 300,
    busyWaitSeconds = 120,
    ssmClient,
    lambdaClient,
    logger = QUIET_LOGGER,
  } = {}) {
    if (!parameterName) {
      throw new ConfigurationError(
        "No token parameter: pass parameterName or set JOOR_TOKEN_PARAMETER (the stack's TokenParameterName output)",
      );
    }
    if (!(maxAgeSeconds > 0 && maxAgeSeconds <= MAX_AGE_LIMIT_SECONDS)) {
      throw new ConfigurationError(`maxAgeSeconds must be more than 0 and at most 3600, got ${maxAgeSeconds}`);
    }
    this.#logger = logger;
    this.#name = parameterName;
    this.#fn = refresherFunction;
    this.#maxAgeMs = maxAgeSeconds * 1000;
    this.#busyWaitMs = busyWaitSeconds * 1000;
    this.#ssm = ssmClient ?? new SSMClient({ maxAttempts: 3 });
    // One attempt (a retried invoke of a refresh in progress would log in twice), and a
    // request timeout longer than the refresher's 100 s timeout (template.yaml) and its init.
    this.#lambda =
      lambdaClient ??
      new LambdaClient({
        maxAttempts: 1,
        requestHandler: { requestTimeout: 120_000, connectionTimeout: 5_000 },
      });
  }

  get parameterName() {
    return this.#name;
  }

  /** Where this reader's log lines go (fetchWithToken writes there too). */
  get logger() {
    return this.#logger;
  }

  /** The bare token: one GetParameter on first use, then from memory for maxAgeSeconds. */
  async token() {
    return (await this.#load()).value;
  }

  async #load() {
    const cached = this.#cached;
    if (cached && Date.now() - cached.readAt < this.#maxAgeMs) return cached;
    if (!this.#loading) {
      this.#loading = this.#read(this.#name)
        .then((fresh) => this.#install(fresh))
        .finally(() => {
          this.#loading = null;
        });
    }
    return this.#loading;
  }

  #install(candidate) {
    const cached = this.#cached;
    if (!cached || candidate.version >= cached.version || candidate.readAt > cached.readAt) {
      this.#cached = candidate;
      return candidate;
    }
    return cached;
  }

  async #read(selector) {
    const readAt = Date.now();
    let parameter;
    try {
      ({ Parameter: parameter } = await this.#ssm.send(
        new GetParameterCommand({ Name: selector, WithDecryption: true }),
      ));
    } catch (error) {
      if (error.message === "Region is missing") {
        throw new ConfigurationError(
          "No AWS region to read the token in: set AWS_REGION to the region the stack is deployed in " +
            "(the AWS SDK for JavaScript reads AWS_REGION, not AWS_DEFAULT_REGION) or give the profile a region",
          { cause: error },
        );
      }
      const hint =
        error.name === "ParameterNotFound"
          ? "check JOOR_TOKEN_PARAMETER (the stack's TokenParameterName output) and AWS_REGION"
          : error.name === "AccessDeniedException"
            ? "attach the stack's TokenReaderPolicy to this workload's role"
            : redact(error.message, []);
      throw new TokenUnavailableError(`Could not read parameter '${this.#name}': ${error.name}: ${hint}`, {
        cause: error,
      });
    }
    const value = parameter?.Value;
    if (typeof value !== "string" || !value.trim()) {
      throw new TokenUnavailableError(
        `Parameter '${this.#name}' is empty; the token refresher writes a token there on its first run: ` +
          'invoke it with {"force": true}',
      );
    }
    if (!Number.isInteger(parameter.Version)) {
      throw new TokenUnavailableError(`Parameter '${this.#name}' came back without a version number`);
    }
    return { value, version: parameter.Version, readAt };
  }

  /** A token to use instead of `rejectedToken` (default: the one held), which JOOR answered 401 to. */
  async refreshAfterRejection(rejectedToken) {
    const cached = this.#cached ?? (await this.#load());
    if (rejectedToken !== undefined && rejectedToken !== cached.value) return this.token();
    const version = cached.version;
    const limited = this.#rateLimited;
    if (limited && limited.version === version && Date.now() < limited.until) {
      throw new RefreshRateLimitedError(this.#rateLimitedMessage(version, limited.after), (limited.until - Date.now()) / 1000);
    }
    let flight = this.#flights.get(version);
    if (!flight) {
      flight = this.#renew(cached)
        .then((renewed) => this.#install(renewed))
        .finally(() => this.#flights.delete(version));
      this.#flights.set(version, flight);
    }
    return (await flight).value;
  }

  #rateLimitedMessage(version, after) {
    return (
      `JOOR rejected version ${version} of '${this.#name}', and the token refresher declined to replace it: ` +
      "that token was written less than its minimum interval ago, so JOOR is rejecting fresh tokens. " +
      "Check the URL called (sandbox or production API) and that the JOOR account has the rights this call needs. " +
      `The refresher accepts this version again in ${Math.round(after)} s.`
    );
  }

  async #renew(rejected) {
    if (!this.#fn) {
      const fresh = await this.#read(this.#name);
      if (fresh.version > rejected.version) return fresh;
      throw new RefreshFailedError(
        `JOOR rejected version ${rejected.version} of '${this.#name}' and the parameter holds no newer one; ` +
          "set JOOR_TOKEN_REFRESHER_FUNCTION so that the reader can ask for a new token",
      );
    }
    this.#logger.info(
      `JOOR rejected version ${rejected.version} of ${this.#name}; asking ${this.#fn} for a new token`,
    );
    const payload = JSON.stringify({ force: true, seen_version: rejected.version, parameter: this.#name });
    const deadline = Date.now() + this.#busyWaitMs;
    let backoff = 500;
    let busyInvocations = 0;
    for (;;) {
      let response;
      try {
        response = await this.#lambda.send(
          new InvokeCommand({ FunctionName: this.#fn, InvocationType: "RequestResponse", Payload: payload }),
        );
      } catch (error) {
        if (error.name !== "TooManyRequestsException") {
          throw new RefreshFailedError(
            `Could not invoke the token refresher '${this.#fn}': ${error.name}: ${redact(error.message, [rejected.value])}`,
            { cause: error },
          );
        }
        // Busy: the running invocation may be replacing this very version; if it is a
        // scheduled run that found the token fresh, invoke again after a pause.
        busyInvocations += 1;
        if (busyInvocations === 1) {
          this.#logger.warn(
            `Token refresher ${this.#fn} is busy (${redact(error.Reason ?? "HTTP 429", [])}); waiting up to ` +
              `${this.#busyWaitMs / 1000} s for a version of ${this.#name} newer than ${rejected.version}`,
          );
        }
        const left = deadline - Date.now();
        if (left > 0) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(backoff * (0.5 + Math.random() / 2), left)));
          backoff = Math.min(backoff * 2, 5_000);
          const fresh = await this.#read(this.#name);
          if (fresh.version > rejected.version) {
            this.#logger.info(`Version ${fresh.version} of ${this.#name} appeared while the refresher was busy`);
            return fresh;
          }
        }
        if (Date.now() >= deadline) {
          throw new RefreshFailedError(
            `The token refresher '${this.#fn}' stayed busy (HTTP 429) for ${this.#busyWaitMs / 1000} s ` +
              `and no version of '${this.#name}' newer than ${rejected.version} appeared`,
          );
        }
        continue;
      }
      const text = new TextDecoder().decode(response.Payload ?? new Uint8Array());
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      if (response.FunctionError) {
        throw new RefreshFailedError(
          `The token refresher '${this.#fn}' failed: ${redact(body?.errorType, [])}: ${redact(body?.errorMessage, [rejected.value])}`,
        );
      }
      if (body?.reason === "rate_limited") {
        const after = Number.isFinite(body.retry_after_seconds) ? body.retry_after_seconds : 60;
        this.#rateLimited = { version: rejected.version, until: Date.now() + after * 1000, after };
        const message = this.#rateLimitedMessage(rejected.version, after);
        this.#logger.warn(message);
        throw new RefreshRateLimitedError(message, after);
      }
      if (body?.parameter != null && body.parameter !== this.#name) {
        throw new RefreshFailedError(
          `The token refresher '${this.#fn}' keeps parameter '${redact(body.parameter, [])}', not '${this.#name}': ` +
            "point JOOR_TOKEN_PARAMETER and JOOR_TOKEN_REFRESHER_FUNCTION at the same stack",
        );
      }
      if (Number.isInteger(body?.version) && body.version > rejected.version) {
        const renewed = await this.#read(`${this.#name}:${body.version}`);
        this.#logger.info(
          `Token version ${renewed.version} of ${this.#name} ready (refresher: ${redact(body.result, [])}, ${redact(body.reason, [])})`,
        );
        return renewed;
      }
      throw new RefreshFailedError(
        `The token refresher '${this.#fn}' answered result=${redact(body?.result, [])}, ` +
          `reason=${redact(body?.reason, [])}, version=${redact(body?.version, [])}: no version newer than ${rejected.version}`,
      );
    }
  }
}

/**
 * fetch() with `Authorization: Bearer <token>`. On a 401 it renews the token once (naming the
 * token it sent) and sends the request once more; a 401 to the resent request, or a renewal the
 * refresher declines (rate_limited), is returned as it is. Other renewal failures throw. A body
 * that is a stream cannot be sent twice: pass a string, a Buffer or URLSearchParams.
 */
export async function fetchWithToken(reader, url, init = {}) {
  const send = (token) => {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return fetch(url, { ...init, headers });
  };
  const sent = await reader.token();
  const first = await send(sent);
  if (first.status !== 401) return first;
  let renewed;
  try {
    renewed = await reader.refreshAfterRejection(sent);
  } catch (error) {
    if (error instanceof RefreshRateLimitedError) {
      reader.logger.warn(`JOOR answered 401 and no new token is to be had: ${error.message}`);
      return first;
    }
    throw error;
  }
  if (init.body instanceof ReadableStream) {
    reader.logger.warn(
      "JOOR answered 401; the token is renewed, but this request's body is a stream and cannot be " +
        "sent a second time, so the 401 is returned: pass a string, a Buffer or URLSearchParams to have it resent",
    );
    return first;
  }
  await first.arrayBuffer(); // free the connection
  return send(renewed);
}
