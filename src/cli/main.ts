// The `till` command line. Each command is a thin shell over a service or the engine.
import { Command, InvalidArgumentError } from "commander";
import { runExportCommand, runImportCommand } from "./csv-commands.js";
import { InputError, runEvaluate } from "./evaluate-command.js";
import { runRecomputeCommand } from "./loyalty-command.js";
import { examplePath } from "./paths.js";
import { CliError, openDatabase, serve } from "./serve-command.js";
import { migrate } from "../store/migrate.js";

const examples = examplePath;

const program = new Command()
  .name("till")
  .description("Till: an open promotions and loyalty engine for retailers")
  .showHelpAfterError();

program
  .command("evaluate")
  .description("price a basket against promotions and explain every promotion that did not apply")
  .requiredOption("--promotions <file>", "JSON: an array of promotions, or { settings, promotions }")
  .requiredOption("--basket <file>", "JSON: a basket, or { basket, customer, settings }")
  .option("--at <time>", "the instant of the sale, ISO 8601 with offset (default: now)")
  .option("--json", "print the evaluation as JSON")
  .option("--all", "explain every promotion, also those that touch nothing in the basket")
  .action(async (options) => console.log(await runEvaluate(options)));

program
  .command("demo")
  .description("price the example basket against the example promotions (examples/)")
  .option("--json", "print the evaluation as JSON")
  .action(async (options: { json?: boolean }) => {
    const at = "2026-06-01T10:00:00Z";
    if (!options.json) {
      console.log(`Till demo: examples/basket.json priced against examples/promotions.json at ${at}\n`);
    }
    console.log(
      await runEvaluate({
        promotions: examples("promotions.json"),
        basket: examples("basket.json"),
        at,
        ...options,
      }),
    );
    if (!options.json)
      console.log(
        "\nTry: till evaluate --promotions examples/promotions.json --basket examples/basket.json --json",
      );
  });

const dataDirOption = [
  "--data-dir <dir>",
  "embedded database folder (env TILL_DATA_DIR)",
  process.env["TILL_DATA_DIR"] ?? "./data",
] as const;

program
  .command("serve")
  .description("serve the API; without DATABASE_URL on an embedded PostgreSQL in the data folder")
  .option("--port <port>", "TCP port (env PORT)", parsePort, Number(process.env["PORT"] ?? 3000))
  .option("--host <host>", "address to listen on (env HOST)", process.env["HOST"] ?? "127.0.0.1")
  .option(...dataDirOption)
  .option("--demo", "on a new database, also load the demo catalog, customers and promotions")
  .action(async (options: { port: number; host: string; dataDir: string; demo?: boolean }) => serve(options));

program
  .command("migrate")
  .description("apply the database migrations (DATABASE_URL, or the embedded database)")
  .option(...dataDirOption)
  .action(async (options: { dataDir: string }) => {
    const database = await openDatabase(options.dataDir, 1);
    try {
      const report = await migrate(database.db);
      console.log(
        report.applied.length > 0
          ? `applied ${report.applied.join(", ")} to ${database.where}`
          : `${database.where} is up to date (${report.current})`,
      );
    } finally {
      await database.close();
    }
  });

const workspaceOption = ["--workspace <id>", "the workspace (default: the only one)"] as const;

program
  .command("import")
  .description("import data from a file (docs/csv.md)")
  .command("promotions <file>")
  .description("import promotions from a CSV file; a row with a known externalId updates its promotion")
  .option(...dataDirOption)
  .option(...workspaceOption)
  .option("--dry-run", "check and count every row, write nothing")
  .option("--publish", "publish the promotions the import creates")
  .option("--json", "print the report as JSON")
  .action(async (file: string, options: { dataDir: string; workspace?: string; dryRun?: boolean }) => {
    process.exitCode = await runImportCommand(file, options);
  });

program
  .command("export")
  .description("export data to a file (docs/csv.md)")
  .command("promotions")
  .description("export promotions as CSV, in the import format")
  .option(...dataDirOption)
  .option(...workspaceOption)
  .option("--out <file>", "write to this file (default: stdout)")
  .action(async (options: { dataDir: string; workspace?: string; out?: string }) =>
    runExportCommand(options),
  );

program
  .command("loyalty")
  .description("loyalty upkeep (docs/loyalty.md)")
  .command("recompute")
  .description(
    "rebuild every profile's aggregates, segments and tiers from its events (after a definition changed)",
  )
  .option(...dataDirOption)
  .option(...workspaceOption)
  .action(async (options: { dataDir: string; workspace?: string }) => {
    process.exitCode = await runRecomputeCommand(options);
  });

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError("a TCP port, 0 to 65535");
  return port;
}

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CliError) {
    console.error(`till: ${error.message}`);
    process.exitCode = 1;
  } else if (error instanceof InputError || error instanceof InvalidArgumentError) {
    console.error(`till: ${error.message}`);
    for (const issue of error instanceof InputError ? error.issues : []) {
      console.error(`  ${issue.path}: ${issue.message} [${issue.code}]`);
    }
    process.exitCode = 2;
  } else throw error;
}
