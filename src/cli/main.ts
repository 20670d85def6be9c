// The `till` command line. Each command is a thin shell over a service or the engine.
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { InputError, runEvaluate } from "./evaluate-command.js";

const examples = (name: string): string => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

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

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof InputError || error instanceof InvalidArgumentError) {
    console.error(`till: ${error.message}`);
    for (const issue of error instanceof InputError ? error.issues : []) {
      console.error(`  ${issue.path}: ${issue.message} [${issue.code}]`);
    }
    process.exitCode = 2;
  } else throw error;
}
