// `till serve` from the command line: it starts on an empty embedded data folder, prints the admin key
// once, answers with the demo loaded, and a second Till on the same folder is refused with a message
// that says why; `till migrate` reports an up-to-date database.
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";

const ROOT = new URL("../", import.meta.url).pathname;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "till-serve-"));
});
afterAll(async () => rm(dataDir, { recursive: true, force: true }));

function embeddedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn" };
  delete env["DATABASE_URL"];
  return env;
}

it(
  "serves the demo, prints the key once, and refuses a second Till on the same folder",
  { timeout: 120_000 },
  async () => {
    const first = spawn(
      process.execPath,
      ["bin/till.js", "serve", "--demo", "--port", "0", "--data-dir", dataDir],
      {
        cwd: ROOT,
        env: embeddedEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const out = await new Promise<string>((resolve, reject) => {
        let text = "";
        first.stdout.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes("serving on") && text.includes("Loaded the demo")) resolve(text);
        });
        first.on("exit", (code) => reject(new Error(`exited ${code}: ${text}`)));
      });
      const address = /serving on (http:\/\/\S+)/.exec(out)![1]!;
      const key = /^ {2}(till_\S+)$/m.exec(out)![1]!;
      const quote = await fetch(`${address}/v1/baskets/evaluate`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ customerId: "c-1001", lines: [{ id: "1", sku: "LATTE", quantity: 2 }] }),
      });
      expect(quote.status).toBe(200);
      expect(((await quote.json()) as { totals: object }).totals).toEqual({
        grossMinor: 1_100,
        discountMinor: 1_100,
        netMinor: 0,
      });

      const second = spawnSync(
        process.execPath,
        ["bin/till.js", "serve", "--port", "0", "--data-dir", dataDir],
        {
          cwd: ROOT,
          env: embeddedEnv(),
          encoding: "utf8",
          timeout: 60_000,
        },
      );
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`is in use by another Till process (pid ${first.pid})`);
    } finally {
      await new Promise((resolve) => {
        first.once("exit", resolve);
        first.kill("SIGTERM");
      });
    }
    const migrate = spawnSync(process.execPath, ["bin/till.js", "migrate", "--data-dir", dataDir], {
      cwd: ROOT,
      env: embeddedEnv(),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(migrate.stdout).toMatch(/is up to date \(\d{4}_\w+\.sql\)/);
    // The key is printed on the first start only.
    const again = spawn(process.execPath, ["bin/till.js", "serve", "--port", "0", "--data-dir", dataDir], {
      cwd: ROOT,
      env: embeddedEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const text = await new Promise<string>((resolve) => {
      let seen = "";
      again.stdout.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes("serving on")) resolve(seen);
      });
    });
    await new Promise((resolve) => {
      again.once("exit", resolve);
      again.kill("SIGTERM");
    });
    expect(text).not.toMatch(/till_/);
  },
);
