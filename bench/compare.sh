#!/usr/bin/env bash
# Compares the engine at another revision with the working tree, in one run, interleaved, so a shared
# and noisy machine affects both alike. Both sides are built with tsc the same way.
#
#   bench/compare.sh REV [ROUNDS] [bench options…]
#   bench/compare.sh d634679 2 --cases promotions=1000,lines=20,mix=dense
#
# Prints the "evaluate" JSON lines of each side, tagged with "side":"before"/"after", then one summary
# line per case: {"bench":"compare","case":…,"before_evals_per_s":…,"after_evals_per_s":…,"ratio":…}
# (best of the rounds on each side). REV must contain bench/engine.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:?usage: bench/compare.sh REV [ROUNDS] [bench options…]}"
rounds="${2:-2}"
shift $(( $# >= 2 ? 2 : 1 ))
options=("$@")
[ ${#options[@]} -gt 0 ] || options=(--cases promotions=1000,lines=20,mix=dense)

work="$(mktemp -d)"
trap 'git worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --quiet --detach "$work/before" "$rev"
ln -s "$PWD/node_modules" "$work/before/node_modules"
cp tsconfig.build.json "$work/before/tsconfig.build.json" 2>/dev/null || true
(cd "$work/before" && ./node_modules/.bin/tsc -p tsconfig.build.json)
./node_modules/.bin/tsc -p tsconfig.build.json

out="$work/results.jsonl"
for _ in $(seq "$rounds"); do
  for side in before after; do
    dir=$([ "$side" = before ] && echo "$work/before" || echo "$PWD")
    node --expose-gc "$dir/dist/bench/engine.js" "${options[@]}" 2>/dev/null |
      grep '"bench":"evaluate"' | sed "s/^{/{\"side\":\"$side\",/" | tee -a "$out"
  done
done
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const best = new Map();
  for (const r of rows) {
    const key = `${r.mix} ${r.promotions}x${r.lines}`;
    const entry = best.get(key) ?? { before: 0, after: 0 };
    entry[r.side] = Math.max(entry[r.side], r.evals_per_s);
    best.set(key, entry);
  }
  for (const [key, { before, after }] of best) {
    console.log(JSON.stringify({ bench: "compare", case: key, before_evals_per_s: before, after_evals_per_s: after,
      ratio: before > 0 ? Math.round((after / before) * 100) / 100 : null }));
  }' "$out"
