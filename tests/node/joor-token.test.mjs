// Unit tests of clients/node/joor-token.mjs with in-memory SSM and Lambda clients (node --test).
// tests/integration/test_consumer_node.py runs them, with no AWS region in the environment.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";

import {
  ConfigurationError,
  RefreshFailedError,
  RefreshRateLimitedError,
  TokenReader,
  TokenUnavailableError,
  fetchWithToken,
} from "../../clients/node/joor-token.mjs";

const PARAMETER = "/joor/sandbox/access-token";
const FUNCTION = "joor-token-refresher-sandbox-token-refresher";

/** GetParameter as the SDK's SSMClient answers it: `versions[i]` is version i + 1. */
function fakeSsm(versions, overrides = {}) {
  return {
    calls: [],
    async send(command) {
      this.calls.push(command.input.Name);
      const [, version] = command.input.Name.split(":");
      const number = version ? Number(version) : versions.length;
      return { Parameter: { Name: PARAMETER, Value: versions[number - 1], Version: number, ...overrides } };
    },
  };
}

/** Invoke as the SDK's LambdaClient answers it: each call returns the next summary. */
function fakeLambda(...summaries) {
  return {
    events: [],
    async send(command) {
      this.events.push(JSON.parse(command.input.Payload));
      return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(summaries.shift())) };
    },
  };
}

function recordingLogger() {
  const lines = { info: [], warn: [] };
  return { lines, info: (text) => lines.info.push(text), warn: (text) => lines.warn.push(text) };
}

/** A reader of PARAMETER that asks FUNCTION, with a recording logger unless `options` say otherwise. */
function makeReader(options) {
  return new TokenReader({ parameterName: PARAMETER, refresherFunction: FUNCTION, logger: recordingLogger(), ...options });
}

/** What the refresher answers when it declines to replace version 1 for `retryAfter` seconds. */
const rateLimited = (retryAfter) => ({
  result: "skipped",
  reason: "rate_limited",
  version: 1,
  parameter: PARAMETER,
  retry_after_seconds: retryAfter,
});
/** What the refresher answers when it has written version 2. */
const REFRESHED = { result: "refreshed", reason: "rejected", version: 2, parameter: PARAMETER };

let server;
let refusedUrl;
before(async () => {
  // An endpoint that answers 401 to every token, over a real socket.
  server = createServer((request, response) => {
    response.writeHead(401, { "content-type": "application/json" });
    response.end('{"error": "invalid_token"}');
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  refusedUrl = `http://127.0.0.1:${server.address().port}/v4/orders`;
});
after(() => server.close());

test("a rate_limited answer returns the 401 with a warning that says why", async () => {
  const logger = recordingLogger();
  const lambda = fakeLambda(rateLimited(240));
  const reader = makeReader({
    ssmClient: fakeSsm(["token-one"]),
    lambdaClient: lambda,
    logger,
  });

  const response = await fetchWithToken(reader, refusedUrl);

  assert.equal(response.status, 401);
  assert.deepEqual(await response.json(), { error: "invalid_token" });
  assert.deepEqual(lambda.events, [{ force: true, seen_version: 1, parameter: PARAMETER }]);
  const declined =
    `JOOR rejected version 1 of '${PARAMETER}', and the token refresher declined to replace it: that token was ` +
    "written less than its minimum interval ago, so JOOR is rejecting fresh tokens. Check the URL called " +
    "(sandbox or production API) and that the JOOR account has the rights this call needs. The refresher " +
    "accepts this version again in 240 s.";
  assert.deepEqual(logger.lines.warn, [declined, `JOOR answered 401 and no new token is to be had: ${declined}`]);
  assert.deepEqual(logger.lines.info, [`JOOR rejected version 1 of ${PARAMETER}; asking ${FUNCTION} for a new token`]);
});

test("a declined version is not sent to the refresher again until it may be", async () => {
  const lambda = fakeLambda(rateLimited(240));
  const reader = makeReader({
    ssmClient: fakeSsm(["token-one"]),
    lambdaClient: lambda,
  });

  await fetchWithToken(reader, refusedUrl);
  const second = await fetchWithToken(reader, refusedUrl);

  assert.equal(second.status, 401);
  assert.equal(lambda.events.length, 1);
});

test("a summary naming another parameter is an error naming both", async () => {
  const reader = makeReader({
    ssmClient: fakeSsm(["token-one"]),
    lambdaClient: fakeLambda({ result: "refreshed", reason: "rejected", version: 2, parameter: "/joor/other/access-token" }),
  });
  await reader.token();

  await assert.rejects(reader.refreshAfterRejection(), (error) => {
    assert.ok(error instanceof RefreshFailedError);
    assert.equal(
      error.message,
      `The token refresher '${FUNCTION}' keeps parameter '/joor/other/access-token', not '${PARAMETER}': ` +
        "point JOOR_TOKEN_PARAMETER and JOOR_TOKEN_REFRESHER_FUNCTION at the same stack",
    );
    return true;
  });
});

test("a renewal reads the version the refresher names, and logs both steps at info", async () => {
  const logger = recordingLogger();
  const versions = ["token-one"];
  const ssm = fakeSsm(versions);
  const reader = makeReader({
    ssmClient: ssm,
    lambdaClient: fakeLambda(REFRESHED),
    logger,
  });
  await reader.token();
  versions.push("token-two"); // what the refresher writes

  assert.equal(await reader.refreshAfterRejection(), "token-two");
  assert.deepEqual(ssm.calls, [PARAMETER, `${PARAMETER}:2`]);
  assert.deepEqual(logger.lines.info, [
    `JOOR rejected version 1 of ${PARAMETER}; asking ${FUNCTION} for a new token`,
    `Token version 2 of ${PARAMETER} ready (refresher: refreshed, rejected)`,
  ]);
  assert.deepEqual(logger.lines.warn, []);
});

for (const [title, value] of [
  ["empty", ""],
  ["blank", "  \n"],
  ["missing", undefined],
]) {
  test(`an ${title} parameter value is an error saying how to get a token`, async () => {
    const reader = new TokenReader({ parameterName: PARAMETER, ssmClient: fakeSsm([value]), logger: recordingLogger() });

    await assert.rejects(reader.token(), (error) => {
      assert.ok(error instanceof TokenUnavailableError);
      assert.equal(
        error.message,
        `Parameter '${PARAMETER}' is empty; the token refresher writes a token there on its first run: ` +
          'invoke it with {"force": true}',
      );
      return true;
    });
  });
}

test("a parameter without a version number is an error", async () => {
  const reader = new TokenReader({
    parameterName: PARAMETER,
    ssmClient: fakeSsm(["token-one"], { Version: undefined }),
    logger: recordingLogger(),
  });

  await assert.rejects(reader.token(), new TokenUnavailableError(`Parameter '${PARAMETER}' came back without a version number`));
});

test("settings out of range are configuration errors", () => {
  assert.throws(() => new TokenReader({ parameterName: "" }), ConfigurationError);
  assert.throws(() => new TokenReader({ parameterName: PARAMETER, maxAgeSeconds: 3601 }), ConfigurationError);
});

test("with AWS_DEFAULT_REGION alone the SDK has no region, and the error says to set AWS_REGION", async () => {
  // The SDK reads AWS_REGION and the profile's region, never AWS_DEFAULT_REGION.
  assert.equal(process.env.AWS_REGION, undefined);
  process.env.AWS_DEFAULT_REGION = "eu-west-1";
  try {
    const reader = new TokenReader({ parameterName: PARAMETER });

    await assert.rejects(reader.token(), (error) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(
        error.message,
        "No AWS region to read the token in: set AWS_REGION to the region the stack is deployed in " +
          "(the AWS SDK for JavaScript reads AWS_REGION, not AWS_DEFAULT_REGION) or give the profile a region",
      );
      assert.equal(error.cause.message, "Region is missing");
      return true;
    });
  } finally {
    delete process.env.AWS_DEFAULT_REGION;
  }
});

test("a stream body is not resent after a 401, and a warning says why", async () => {
  const logger = recordingLogger();
  const versions = ["token-one"];
  const reader = makeReader({
    ssmClient: fakeSsm(versions),
    lambdaClient: fakeLambda(REFRESHED),
    logger,
  });
  await reader.token();
  versions.push("token-two");
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("x"));
      controller.close();
    },
  });

  const response = await fetchWithToken(reader, refusedUrl, { method: "POST", body, duplex: "half" });

  assert.equal(response.status, 401);
  assert.equal(await reader.token(), "token-two"); // renewed for the next request
  assert.deepEqual(logger.lines.warn, [
    "JOOR answered 401; the token is renewed, but this request's body is a stream and cannot be sent a " +
      "second time, so the 401 is returned: pass a string, a Buffer or URLSearchParams to have it resent",
  ]);
});

test("by default info lines go nowhere and warnings to console.warn", async (t) => {
  const warned = [];
  t.mock.method(console, "warn", (...args) => warned.push(args.join(" ")));
  t.mock.method(console, "info", () => assert.fail("info logged by default"));
  t.mock.method(console, "log", () => assert.fail("log used"));
  const reader = makeReader({
    ssmClient: fakeSsm(["token-one"]),
    lambdaClient: fakeLambda(rateLimited(5)),
    logger: undefined, // the default
  });

  await assert.rejects(reader.refreshAfterRejection(), RefreshRateLimitedError);

  assert.equal(warned.length, 1);
  assert.match(warned[0], /^JOOR rejected version 1 of '\/joor\/sandbox\/access-token', and the token refresher declined/);
});

test("while the refresher is busy the reader reads the version it writes, and says so", async () => {
  const logger = recordingLogger();
  const versions = ["token-one"];
  const busy = Object.assign(new Error("Rate Exceeded."), {
    name: "TooManyRequestsException",
    Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
  });
  const lambda = {
    async send() {
      versions.push("token-two"); // the running invocation writes version 2
      throw busy;
    },
  };
  const reader = makeReader({
    ssmClient: fakeSsm(versions),
    lambdaClient: lambda,
    busyWaitSeconds: 5,
    logger,
  });
  await reader.token();

  assert.equal(await reader.refreshAfterRejection(), "token-two");
  assert.deepEqual(logger.lines.warn, [
    `Token refresher ${FUNCTION} is busy (ReservedFunctionConcurrentInvocationLimitExceeded); waiting up to 5 s ` +
      `for a version of ${PARAMETER} newer than 1`,
  ]);
  assert.equal(logger.lines.info.at(-1), `Version 2 of ${PARAMETER} appeared while the refresher was busy`);
});
