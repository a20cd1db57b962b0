/** `pumpwatch device run` through `runDeviceCommand`, against a whole pumpwatch over real TLS. */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { parseDeviceRunArgs, runDeviceCommand } from "../../src/device/cli.js";
import { STATE_FILE } from "../../src/device/state.js";
import { waitFor } from "../helpers/agent.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/** Collects written text (log lines, usage errors). */
function sink(): Writable & { text: () => string } {
  let text = "";
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return Object.assign(w, { text: () => text });
}

describe("pumpwatch device run", () => {
  let s: TestServer;
  let dir: string;

  before(async () => {
    s = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "pumpwatch-agent-cli-"));
  });
  after(async () => {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs an agent with the constant source until stopped, and exits 0", async () => {
    const { groupKey } = await s.admin.enrollGroup("cli");
    const keyFile = join(dir, "group.key");
    await writeFile(keyFile, `${groupKey}\n`, { mode: 0o600 });
    const stateDir = join(dir, "state");
    const log = sink();
    const stop = new AbortController();
    const run = runDeviceCommand(
      [
        "--provisioning-host",
        `localhost:${s.mqttPort}`,
        "--id-scope",
        s.idScope,
        "--registration-id",
        "cli-box-0001",
        "--group-key",
        `@${keyFile}`,
        "--ca",
        s.caPath,
        "--state-dir",
        stateDir,
        "--sample-interval",
        "0.1",
        "--send-interval",
        "0.3",
        "--source",
        "constant",
      ],
      { signal: stop.signal, logDestination: log },
    );
    await waitFor("stored samples", async () => {
      const res = await s.api("/api/devices/cli-box-0001/telemetry?limit=100000");
      return res.status === 200 && res.body.samples.length >= 5 ? true : undefined;
    });
    stop.abort();
    assert.equal(await run, 0);
    assert.match(log.text(), /"msg":"connected to hub"/);
    assert.doesNotMatch(
      log.text(),
      new RegExp(groupKey.slice(0, 20).replace(/[+/]/g, "\\$&")),
      "no key in the log",
    );
    const state = JSON.parse(await readFile(join(stateDir, STATE_FILE), "utf8"));
    assert.equal(state.assignment.deviceId, "cli-box-0001");
    assert.doesNotMatch(JSON.stringify(state), /Key/i, "the state file holds no key");
  });

  it("answers usage errors with exit code 2 and says what to fix", async () => {
    const base = ["--provisioning-host", "h", "--id-scope", "s", "--registration-id", "r"];
    const cases: [string[], RegExp][] = [
      [["--id-scope", "x"], /--provisioning-host is required/],
      [base, /exactly one of --key or --group-key/],
      [[...base, "--key", "AAAA", "--sample-interval", "0"], /--sample-interval must be a number of seconds/],
      [[...base, "--key", "AAAA", "--simulate", "vx"], /--simulate is not wired/],
      [["--bogus"], /Unknown option/],
    ];
    for (const [argv, message] of cases) {
      const err = sink();
      assert.equal(await runDeviceCommand(argv, { stderr: err }), 2, argv.join(" "));
      assert.match(err.text(), message);
      assert.match(err.text(), /Usage: pumpwatch device run/);
    }
  });

  it("builds the --simulate source through the factory the CLI passes in", () => {
    const parsed = parseDeviceRunArgs(
      [
        "--provisioning-host",
        "h:1",
        "--id-scope",
        "s",
        "--registration-id",
        "r",
        "--key",
        "AAAA",
        "--simulate",
        "vx-200",
      ],
      {
        simulate: (model, { registrationId }) => ({
          signals: [`${model}:${registrationId}`],
          read: () => undefined,
        }),
      },
    );
    assert.notEqual(parsed, "help");
    assert.deepEqual(parsed !== "help" && parsed.options.source?.signals, ["vx-200:r"]);
  });
});
