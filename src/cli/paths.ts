// The package's own files (examples/), found from this module whether it runs from src/ through tsx
// or from the tsc build in dist/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("till: cannot find the package root");
    dir = parent;
  }
  return dir;
}

export function examplePath(name: string): string {
  return join(packageRoot(), "examples", name);
}
