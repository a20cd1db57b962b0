import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "nats";

/**
 * NATS with JetStream for tests: the server named by PUMPWATCH_TEST_NATS (default: the development
 * machine's). Tests use streams, subjects and consumers of their own and delete their streams.
 */
export const NATS_URL = process.env.PUMPWATCH_TEST_NATS || "nats://127.0.0.1:4222";

/** Why NATS JetStream cannot be used, or undefined when it can. */
export async function natsUnavailable(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 3000, reconnect: false });
    try {
      await (await nc.jetstreamManager()).getAccountInfo();
      return undefined;
    } catch (err) {
      return `NATS at ${NATS_URL} has no JetStream (${(err as Error).message})`;
    } finally {
      await nc.close();
    }
  } catch (err) {
    return `NATS not reachable at ${NATS_URL} (${(err as Error).message})`;
  }
}

/**
 * A suite that needs NATS JetStream, like `describePostgres`: in CI the server is part of the
 * machine, so its absence fails there; elsewhere the run is green and says what it skipped.
 */
export async function describeNats(name: string, body: () => void): Promise<void> {
  const unavailable = await natsUnavailable();
  if (!unavailable) return void describe(name, body);
  describe(name, () => {
    if (process.env.CI) {
      it("needs a reachable NATS server with JetStream in CI", () => {
        assert.fail(`${unavailable}; CI is set, so NATS is required (set PUMPWATCH_TEST_NATS)`);
      });
    } else
      it("runs against NATS JetStream", { skip: `${unavailable}: skipped; set CI to require it` }, () => {});
  });
}
