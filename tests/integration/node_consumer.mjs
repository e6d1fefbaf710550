// A Node.js consumer for tests/integration/test_consumer_node.py: clients/node/joor-token.mjs
// against the local stand-ins, with only the environment a consumer gets.
//   node node_consumer.mjs <url> <concurrent requests>
// Reads the token, prints "ready", waits for "go" on stdin, then sends the requests at once
// and prints one JSON line: each request's final status and whether it was sent twice.
import { createInterface } from "node:readline";
import { TokenReader, fetchWithToken } from "../../clients/node/joor-token.mjs";

const [url, count] = process.argv.slice(2);
const reader = new TokenReader();
await reader.token();
console.log("ready");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "go") break;
}
lines.close();
const outcomes = await Promise.all(
  Array.from({ length: Number(count) }, async () => {
    try {
      const response = await fetchWithToken(reader, url);
      await response.arrayBuffer();
      return { status: response.status, error: null };
    } catch (error) {
      return { status: 0, error: `${error.name}: ${error.message}` };
    }
  }),
);
console.log(JSON.stringify(outcomes));
