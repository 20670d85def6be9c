// The guessing guard: an API key that keeps presenting codes the workspace does not have is slowed.
// Quotes and sales count, per key, the presented codes that match no code of the workspace in a sliding
// window; once a key has `unknownMax` of them inside the window, its requests that present codes are
// refused (429) until the oldest one leaves the window. Requests without codes always pass.
//
// Answers themselves do not change: an unknown code and an exhausted one are both just `unusedCodes`.
// The count needs one extra lookup, made only when a request has unused codes, whatever their reason.
//
// The window lives in this process: with several processes, each keeps its own, so a key spread over N
// processes may guess up to N × unknownMax codes per window.
import type { Queryable } from "../store/db.js";
import { existingCodes } from "../store/codes.js";
import { normalizeCode } from "./pricing.js";
import { Problem } from "./problem.js";

export interface CodeGuardOptions {
  /** Unknown codes a key may present per window. */
  readonly unknownMax?: number;
  readonly windowMs?: number;
  /** Keys tracked at once; past it, keys with nothing left in their window are forgotten. */
  readonly keysMax?: number;
}

/** 429: the key presented too many unknown codes; `retryAfterS` says when it may again. */
export class GuessesThrottled extends Problem {
  constructor(readonly retryAfterS: number) {
    super(
      429,
      "too_many_unknown_codes",
      "Too many requests",
      `this key presented too many unknown codes; requests with codes are refused for ${retryAfterS} s`,
    );
  }
}

export class CodeGuard {
  readonly unknownMax: number;
  readonly windowMs: number;
  private readonly keysMax: number;
  /** Per key, the instants of its latest unknown codes, oldest first, at most unknownMax of them. */
  private readonly unknownAt = new Map<string, number[]>();

  constructor(options: CodeGuardOptions = {}) {
    this.unknownMax = options.unknownMax ?? 20;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.keysMax = options.keysMax ?? 100_000;
  }

  /** Before pricing: throws GuessesThrottled when the key is over its limit and presents codes. */
  admit(keyId: string, codes: readonly string[] | undefined, nowMs: number): void {
    if (codes === undefined || codes.length === 0) return;
    const times = this.unknownAt.get(keyId);
    if (times === undefined || times.length < this.unknownMax) return;
    // Only the latest unknownMax are kept: the key is over while the oldest is inside the window.
    const freeAtMs = times[0]! + this.windowMs;
    if (freeAtMs > nowMs) throw new GuessesThrottled(Math.ceil((freeAtMs - nowMs) / 1000));
  }

  /** After pricing: counts the unused codes that no promotion of the workspace has. */
  async record(
    q: Queryable,
    workspaceId: string,
    keyId: string,
    unusedCodes: readonly string[],
    nowMs: number,
  ): Promise<void> {
    if (unusedCodes.length === 0) return;
    const presented = [...new Set(unusedCodes.map(normalizeCode))];
    const known = await existingCodes(q, workspaceId, presented);
    const unknown = presented.filter((c) => !known.has(c)).length;
    if (unknown > 0) this.add(keyId, unknown, nowMs);
  }

  private add(keyId: string, unknown: number, nowMs: number): void {
    if (!this.unknownAt.has(keyId) && this.unknownAt.size >= this.keysMax) this.forgetIdle(nowMs);
    const times = this.unknownAt.get(keyId) ?? [];
    for (let i = 0; i < unknown; i++) times.push(nowMs);
    if (times.length > this.unknownMax) times.splice(0, times.length - this.unknownMax);
    this.unknownAt.set(keyId, times);
  }

  /** Drops keys whose latest unknown code has left the window; if none has, the oldest entry. */
  private forgetIdle(nowMs: number): void {
    for (const [key, times] of this.unknownAt) {
      if (times.at(-1)! + this.windowMs <= nowMs) this.unknownAt.delete(key);
    }
    if (this.unknownAt.size >= this.keysMax) {
      const oldest = this.unknownAt.keys().next().value;
      if (oldest !== undefined) this.unknownAt.delete(oldest);
    }
  }
}

const guards = new WeakMap<object, CodeGuard>();

/** One guard per owner (the app's dependencies): every route of one app shares its window. */
export function codeGuardOf(owner: object, options?: CodeGuardOptions): CodeGuard {
  let guard = guards.get(owner);
  if (guard === undefined) {
    guard = new CodeGuard(options);
    guards.set(owner, guard);
  }
  return guard;
}
