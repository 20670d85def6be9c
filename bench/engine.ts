// Engine benchmark: prints one JSON line per case on stdout (progress goes to stderr).
//
//   npm run bench:engine                                  full run (under ~3 minutes)
//   npm run bench:engine -- --quick                       smoke run: a few cases, short timings
//   npm run bench:engine -- --cases promotions=1000,lines=20 --cases mix=sparse,promotions=10
//   node --expose-gc --import tsx bench/engine.ts         exact heap deltas (see bench/README.md)
//
// Options: --measure-ms N (default 1500), --warmup-ms N (default 300), --max-evals N (default 300000).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { checkSchema } from "../src/domain/check.js";
import { BasketSchema, CustomerContextSchema } from "../src/domain/basket.js";
import type { Promotion } from "../src/domain/promotion.js";
import { validatePromotion } from "../src/domain/validate.js";
import {
  compilePromotions,
  evaluate,
  type EvaluationInput,
  type PromotionIndex,
} from "../src/engine/index.js";
import { buildFloor, floorSubset, priceFloor } from "./floor.js";
import {
  CATALOG_SIZE,
  INPUTS_PER_CASE,
  makeCatalog,
  makeInputs,
  makePromotions,
  type Mix,
} from "./generate.js";

const PROMOTIONS = [10, 250, 1_000, 10_000];
const LINES = [1, 20, 200];
const MIXES: readonly Mix[] = ["dense", "sparse"];

// ---- Options.
interface Filter {
  promotions?: number;
  lines?: number;
  mix?: Mix;
}

interface Options {
  quick: boolean;
  measureMs: number;
  warmupMs: number;
  maxEvals: number;
  filters: Filter[];
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { quick: false, measureMs: 1_500, warmupMs: 300, maxEvals: 300_000, filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--measure-ms") options.measureMs = Number(value());
    else if (arg === "--warmup-ms") options.warmupMs = Number(value());
    else if (arg === "--max-evals") options.maxEvals = Number(value());
    else if (arg === "--cases") options.filters.push(parseFilter(value()));
    else if (arg.startsWith("--cases=")) options.filters.push(parseFilter(arg.slice("--cases=".length)));
    else throw new Error(`unknown option ${arg}`);
  }
  if (options.quick) {
    if (options.filters.length === 0)
      options.filters.push({ promotions: 10, lines: 20 }, { promotions: 1_000, lines: 20 });
    options.measureMs = Math.min(options.measureMs, 400);
    options.warmupMs = Math.min(options.warmupMs, 100);
  }
  return options;
}

function parseFilter(text: string): Filter {
  const filter: Filter = {};
  for (const part of text.split(",")) {
    const [key, raw] = part.split("=");
    if (key === "promotions" || key === "lines") filter[key] = Number(raw);
    else if (key === "mix" && (raw === "dense" || raw === "sparse")) filter.mix = raw;
    else throw new Error(`bad case filter ${part} (promotions=N, lines=N, mix=dense|sparse)`);
  }
  return filter;
}

const selected = (options: Options, mix: Mix, promotions: number, lines: number): boolean =>
  options.filters.length === 0 ||
  options.filters.some(
    (f) =>
      (f.mix === undefined || f.mix === mix) &&
      (f.promotions === undefined || f.promotions === promotions) &&
      (f.lines === undefined || f.lines === lines),
  );

// ---- Output and memory.
const emit = (line: Record<string, unknown>): void => console.log(JSON.stringify(line));
const progress = (text: string): void => void process.stderr.write(`${text}\n`);
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
const MB = 1024 * 1024;

/** global.gc under --expose-gc; otherwise the same collector reached through a V8 flag set at run time. */
function findGc(): { gc: (() => void) | null; how: string } {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return { gc: exposed, how: "expose-gc" };
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    if (typeof gc === "function") return { gc: gc as () => void, how: "v8-flag" };
  } catch {
    // fall through: no collector, heap deltas include garbage
  }
  return { gc: null, how: "none" };
}
const { gc, how: gcHow } = findGc();
const collect = (): void => {
  if (gc) {
    gc();
    gc();
  }
};

// ---- Timing.
interface Timing {
  readonly evals: number;
  readonly evalsPerS: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly sink: number;
}

let samples = new Float64Array(0);
/** A case measures at least this many evaluations, however slow. */
const MIN_EVALS = 3;

/** Warm up, then time `run` over the rotating inputs: one hrtime pair per call, bounded by time and count. */
function measure(
  run: (input: EvaluationInput) => number,
  inputs: readonly EvaluationInput[],
  options: Options,
): Timing {
  if (samples.length < options.maxEvals) samples = new Float64Array(options.maxEvals);
  const mask = inputs.length - 1; // a power of two
  let sink = 0;
  const warmupEnd = process.hrtime.bigint() + BigInt(Math.round(options.warmupMs * 1e6));
  for (let n = 0; n < options.maxEvals; n++) {
    sink += run(inputs[n & mask]!);
    if (process.hrtime.bigint() >= warmupEnd) break;
  }
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(options.measureMs * 1e6));
  let n = 0;
  while (n < options.maxEvals) {
    const a = process.hrtime.bigint();
    sink += run(inputs[n & mask]!);
    const b = process.hrtime.bigint();
    samples[n++] = Number(b - a);
    if (b >= deadline && n >= MIN_EVALS) break;
  }
  const totalNs = Number(process.hrtime.bigint() - start);
  const sorted = samples.subarray(0, n).slice().sort();
  const rank = (p: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
  return { evals: n, evalsPerS: (n * 1e9) / totalNs, p50Us: rank(0.5) / 1e3, p99Us: rank(0.99) / 1e3, sink };
}

// ---- Cases.
interface CaseResult {
  readonly evalsPerS: number;
  readonly p50Us: number;
  readonly vsFloor?: number;
}

const results = new Map<string, CaseResult>();
const key = (mix: Mix, promotions: number, lines: number): string => `${mix}|${promotions}|${lines}`;
const memory = new Map<Mix, number>();

function validateAll(promotions: readonly Promotion[]): { valid: number; firstIssue?: string } {
  let valid = 0;
  let firstIssue: string | undefined;
  for (const p of promotions) {
    const checked = validatePromotion(p);
    if (checked.ok) valid++;
    else firstIssue ??= `${p.id}: ${JSON.stringify(checked.issues.slice(0, 3))}`;
  }
  return firstIssue === undefined ? { valid } : { valid, firstIssue };
}

function validateInputs(inputs: readonly EvaluationInput[]): void {
  for (const input of inputs) {
    const basket = checkSchema(BasketSchema, input.basket);
    const customer = checkSchema(CustomerContextSchema, input.customer);
    if (!basket.ok || !customer.ok)
      throw new Error(`invalid synthetic input: ${JSON.stringify([basket, customer])}`);
  }
}

/**
 * Evaluates the inputs once each: proves the set is accepted (evaluate does not throw) and measures how
 * much of it each basket touches. Slow cases stop after `budgetMs`, but check one basket per department.
 */
function mixLine(
  index: PromotionIndex,
  inputs: readonly EvaluationInput[],
  mix: Mix,
  promotions: number,
  lines: number,
  budgetMs: number,
): void {
  const deadline = performance.now() + budgetMs;
  let n = 0;
  let touching = 0;
  let applied = 0;
  let combinations = 0;
  let maxTouching = 0;
  let notExhaustive = 0;
  const codes = new Map<string, number>();
  for (const input of inputs) {
    if (n >= CATALOG_SIZE.hotDepartments && performance.now() > deadline) break;
    n++;
    const result = evaluate(index, input);
    const t = result.applied.length + result.rejected.length;
    touching += t;
    maxTouching = Math.max(maxTouching, t);
    applied += result.applied.length;
    combinations += result.search.combinationsTried;
    if (!result.search.exhaustive) notExhaustive++;
    for (const r of result.rejected) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
  }
  const rejected = Object.fromEntries(
    [...codes].sort((a, b) => b[1] - a[1]).map(([code, count]) => [code, round(count / n, 2)]),
  );
  emit({
    bench: "mix",
    mix,
    promotions,
    lines,
    inputs_checked: n,
    touching_avg: round(touching / n, 2),
    touching_max: maxTouching,
    touching_frac: round(touching / n / promotions, 4),
    applied_avg: round(applied / n, 2),
    combinations_avg: round(combinations / n, 2),
    not_exhaustive: notExhaustive,
    rejected_avg: rejected,
  });
}

function runMix(
  mix: Mix,
  options: Options,
  catalog: ReturnType<typeof makeCatalog>,
  inputsByLines: Map<number, EvaluationInput[]>,
): void {
  for (const count of PROMOTIONS) {
    const lineCounts = LINES.filter((l) => selected(options, mix, count, l));
    if (lineCounts.length === 0) continue;
    progress(`${mix} × ${count} promotions: generating and compiling`);
    collect();
    const heapBeforeDefs = process.memoryUsage().heapUsed;
    const promotions = makePromotions(catalog, mix, count);
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = process.hrtime.bigint();
    const index = compilePromotions(promotions);
    const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
    collect();
    const heapAfter = process.memoryUsage().heapUsed;
    const rssMb = round(process.memoryUsage().rss / MB, 1);
    const compiledMb = round((heapAfter - heapBefore) / MB, 2);
    const validation = validateAll(promotions);
    emit({
      bench: "compile",
      mix,
      promotions: count,
      compile_ms: round(compileMs, 2),
      heap_delta_mb: compiledMb,
      rss_mb: rssMb,
      scopes: index.scopes.length,
      always_looked: index.alwaysLooked.length,
      valid: validation.valid,
      ...(validation.firstIssue !== undefined ? { first_issue: validation.firstIssue } : {}),
    });
    if (count === 10_000) {
      memory.set(mix, compiledMb);
      emit({
        bench: "memory",
        mix,
        promotions: count,
        compiled_mb: compiledMb,
        definitions_mb: round((heapBefore - heapBeforeDefs) / MB, 2),
        rss_mb: rssMb,
        gc: gcHow,
      });
    }

    const floorPromotions = mix === "dense" ? floorSubset(promotions) : [];
    const floor = mix === "dense" ? buildFloor(catalog, floorPromotions) : null;
    const floorIndex = mix === "dense" ? compilePromotions(floorPromotions) : null;

    for (const lines of lineCounts) {
      const inputs = inputsByLines.get(lines)!;
      try {
        mixLine(index, inputs, mix, count, lines, options.quick ? 500 : 2_000);
      } catch (error) {
        emit({ bench: "error", mix, promotions: count, lines, message: String(error) });
        continue;
      }
      let floorTiming: Timing | null = null;
      if (floor && floorIndex) {
        // The floor must price exactly what the engine prices with the same restricted set.
        let mismatches = 0;
        for (const input of inputs) {
          if (priceFloor(floor, input) !== evaluate(floorIndex, input).totals.discountMinor) mismatches++;
        }
        floorTiming = measure((input) => priceFloor(floor, input), inputs, options);
        emit({
          bench: "floor",
          promotions: count,
          lines,
          mix,
          floor_promotions: floorPromotions.length,
          matches_engine: mismatches === 0,
          ...(mismatches > 0 ? { mismatches } : {}),
          evals_per_s: Math.round(floorTiming.evalsPerS),
          p50_us: round(floorTiming.p50Us, 2),
          p99_us: round(floorTiming.p99Us, 2),
        });
      }
      progress(`${mix} × ${count} promotions × ${lines} lines: measuring`);
      collect();
      const timing = measure((input) => evaluate(index, input).totals.discountMinor, inputs, options);
      const vsFloor = floorTiming ? round(timing.evalsPerS / floorTiming.evalsPerS, 3) : undefined;
      emit({
        bench: "evaluate",
        promotions: count,
        lines,
        mix,
        evals_per_s: Math.round(timing.evalsPerS),
        p50_us: round(timing.p50Us, 2),
        p99_us: round(timing.p99Us, 2),
        rss_mb: rssMb,
        ...(vsFloor !== undefined ? { vs_floor: vsFloor } : {}),
        evals: timing.evals,
      });
      results.set(key(mix, count, lines), {
        evalsPerS: timing.evalsPerS,
        p50Us: timing.p50Us,
        ...(vsFloor !== undefined ? { vsFloor } : {}),
      });
    }
  }
}

function targets(): void {
  const dense = results.get(key("dense", 1_000, 20));
  const sparse: Record<string, unknown> = {};
  const sparseOk: boolean[] = [];
  let sparse20: boolean | null = null;
  for (const lines of LINES) {
    const small = results.get(key("sparse", 10, lines));
    const large = results.get(key("sparse", 10_000, lines));
    if (!small || !large) continue;
    const p50Ratio = large.p50Us / small.p50Us;
    const throughputRatio = small.evalsPerS / large.evalsPerS;
    sparse[`lines_${lines}`] = { p50_ratio: round(p50Ratio, 3), evals_ratio: round(throughputRatio, 3) };
    const ok = p50Ratio <= 1.5 && throughputRatio <= 1.5;
    sparseOk.push(ok);
    if (lines === 20) sparse20 = ok;
  }
  const floorRatios = [...results]
    .filter(([k, r]) => k.startsWith("dense|") && r.vsFloor !== undefined)
    .map(([k, r]) => ({ k, v: r.vsFloor! }));
  const worstFloor = floorRatios.length > 0 ? floorRatios.reduce((a, b) => (b.v < a.v ? b : a)) : null;
  const compiled = memory.size > 0 ? Math.max(...memory.values()) : undefined;
  emit({
    bench: "targets",
    dense_1000x20_evals_per_s: dense ? Math.round(dense.evalsPerS) : null,
    dense_1000x20_ok: dense ? dense.evalsPerS >= 60_000 : null,
    sparse_10000_vs_10: sparse,
    sparse_10000_vs_10_lines20_ok: sparse20,
    sparse_10000_vs_10_all_ok: sparseOk.length > 0 ? sparseOk.every(Boolean) : null,
    compiled_10000_mb: compiled ?? null,
    compiled_10000_mb_by_mix: Object.fromEntries(memory),
    compiled_10000_ok: compiled !== undefined ? compiled <= 200 : null,
    vs_floor_1000x20: dense?.vsFloor ?? null,
    vs_floor_1000x20_ok: dense?.vsFloor !== undefined ? dense.vsFloor >= 0.5 : null,
    vs_floor_min: worstFloor ? worstFloor.v : null,
    vs_floor_min_case: worstFloor ? worstFloor.k.replaceAll("|", " ") : null,
    vs_floor_all_ok: floorRatios.length > 0 ? floorRatios.every((r) => r.v >= 0.5) : null,
  });
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const catalog = makeCatalog();
  const inputsByLines = new Map<number, EvaluationInput[]>();
  for (const lines of LINES) {
    const inputs = makeInputs(catalog, lines, INPUTS_PER_CASE);
    validateInputs(inputs);
    inputsByLines.set(lines, inputs);
  }
  emit({
    bench: "setup",
    node: process.version,
    catalog: CATALOG_SIZE,
    inputs_per_case: INPUTS_PER_CASE,
    measure_ms: options.measureMs,
    warmup_ms: options.warmupMs,
    max_evals: options.maxEvals,
    gc: gcHow,
    quick: options.quick,
  });
  for (const mix of MIXES) runMix(mix, options, catalog, inputsByLines);
  targets();
  progress(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
