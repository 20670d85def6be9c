// Bulk codes for code promotions: generate many unique random codes, follow a generation, export a
// promotion's codes.
//
// Generation. A template has literal characters and `#` for each random one, drawn uniformly from an
// alphabet with node:crypto bytes (rejection sampling, so no character is likelier than another). Its
// entropy is (random characters) × log2(alphabet size) bits, at least 60 unless the caller opts out.
// Codes are inserted in batches of 50,000 with `on conflict do nothing`; what collided with an
// existing code of the workspace (or within the batch) is drawn again, so exactly `count` are created,
// all in one transaction: a generation creates all its codes or none.
//
// A generation is a resource (GET /v1/code-generations/{id}). Up to SYNC_COUNT_MAX codes the request
// waits for it and answers it done; a larger one answers at once, running, and runs on in this process.
// Its connection holds an advisory lock while it runs: a running row whose lock is free belongs to a
// process that died, and is read as failed (its transaction rolled back, so it left no codes).
import { randomBytes } from "node:crypto";
import Type, { type Static } from "typebox";
import type { Issue } from "../domain/check.js";
import {
  codeBatch,
  finishGeneration,
  findGeneration,
  generationLockIsFree,
  generationLockKey,
  holdGenerationLock,
  insertGeneratedCodes,
  insertGeneration,
  recordProgress,
  releaseGenerationLock,
  type GenerationRow,
  type GenerationStatus,
} from "../store/codes.js";
import { transaction, type Db, type Tx } from "../store/db.js";
import { findPromotion } from "../store/promotions.js";
import { newId } from "./ids.js";
import { Problem, invalid, invalidField, notFound } from "./problem.js";
import { derivedStatus } from "./promotions.js";

/** No 0/O, 1/I/L: codes are read aloud and typed from paper. 31 characters, 4.95 bits each. */
export const DEFAULT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const ENTROPY_BITS_MIN = 60;
export const GENERATION_COUNT_MAX = 1_000_000;
/** Up to this many codes the request waits for its generation (one batch, well under a second). */
export const SYNC_COUNT_MAX = 50_000;
const BATCH_SIZE = 50_000;
const CODE_LENGTH_MAX = 100;
const RANDOM = "#";
/** Printable ASCII without space: what a till keyboard and a CSV cell carry without surprises. */
const PRINTABLE = /^[!-~]+$/;

export const GenerationRequestSchema = Type.Object(
  {
    count: Type.Integer({ minimum: 1, maximum: GENERATION_COUNT_MAX }),
    pattern: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: CODE_LENGTH_MAX,
        description:
          "Literal characters and # for each random one: SPRING-####-####. Not with prefix or length.",
      }),
    ),
    prefix: Type.Optional(
      Type.String({ minLength: 1, maxLength: 50, description: "Literal start of every code" }),
    ),
    length: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: CODE_LENGTH_MAX,
        description: "Random characters after the prefix; default: the fewest that give 60 bits",
      }),
    ),
    alphabet: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 94,
        description: `Characters drawn from (upper-cased, distinct, printable ASCII); default ${DEFAULT_ALPHABET}`,
      }),
    ),
    allowLowEntropy: Type.Optional(
      Type.Boolean({ description: "Accept fewer than 60 random bits per code" }),
    ),
  },
  { additionalProperties: false },
);
export type GenerationRequest = Static<typeof GenerationRequestSchema>;

/** What a generation draws: the template (`#` random) and the alphabet, both upper case. */
export interface CodeSpec {
  readonly template: string;
  readonly alphabet: string;
  readonly bitsPerCode: number;
}

/** Checks a request and answers its spec, or throws 422 with every issue. */
export function codeSpec(request: GenerationRequest): CodeSpec {
  const issues: Issue[] = [];
  const alphabet = (request.alphabet ?? DEFAULT_ALPHABET).toUpperCase();
  if (!PRINTABLE.test(alphabet))
    issues.push({
      code: "alphabet_not_printable",
      path: "/alphabet",
      message: "only printable ASCII, no spaces",
    });
  if (new Set(alphabet).size !== alphabet.length)
    issues.push({
      code: "alphabet_repeats",
      path: "/alphabet",
      message: "characters must be distinct ignoring case (codes match ignoring case)",
    });
  const bitsPerChar = Math.log2(new Set(alphabet).size);
  let template: string;
  let field: "/pattern" | "/length";
  if (request.pattern !== undefined) {
    field = "/pattern";
    template = request.pattern.toUpperCase();
    if (request.prefix !== undefined || request.length !== undefined)
      issues.push({
        code: "pattern_with_prefix",
        path: "/pattern",
        message: "send a pattern, or a prefix and length",
      });
    if (!template.includes(RANDOM))
      issues.push({
        code: "pattern_without_random",
        path: "/pattern",
        message: "mark random characters with #",
      });
  } else {
    field = "/length";
    const prefix = (request.prefix ?? "").toUpperCase();
    const length = request.length ?? Math.ceil(ENTROPY_BITS_MIN / bitsPerChar);
    if (prefix.includes(RANDOM))
      issues.push({
        code: "prefix_has_random",
        path: "/prefix",
        message: "# marks a random character; use a pattern",
      });
    template = prefix + RANDOM.repeat(length);
  }
  const literal = template.replaceAll(RANDOM, "");
  if (literal !== "" && !PRINTABLE.test(literal))
    issues.push({
      code: "not_printable",
      path: request.pattern !== undefined ? "/pattern" : "/prefix",
      message: "only printable ASCII, no spaces",
    });
  if (template.length > CODE_LENGTH_MAX)
    issues.push({
      code: "code_too_long",
      path: field,
      message: `codes are at most ${CODE_LENGTH_MAX} characters`,
    });
  const randomChars = template.length - literal.length;
  const bitsPerCode = randomChars * bitsPerChar;
  if (bitsPerCode < ENTROPY_BITS_MIN && request.allowLowEntropy !== true)
    issues.push({
      code: "entropy_too_low",
      path: field,
      message: `${randomChars} random characters of ${alphabet.length} give ${floor2(bitsPerCode)} bits, at least ${ENTROPY_BITS_MIN}; lengthen it or send allowLowEntropy: true`,
    });
  // At most half the codes the template can make, or drawing the last ones would take forever.
  if (Math.log2(request.count) > bitsPerCode - 1)
    issues.push({
      code: "code_space_too_small",
      path: "/count",
      message: `the template makes 2^${floor2(bitsPerCode)} codes; ask for at most half of them`,
    });
  if (issues.length > 0) throw invalid(issues, 422);
  return { template, alphabet, bitsPerCode: floor2(bitsPerCode) };
}

function floor2(x: number): number {
  return Math.floor(x * 100) / 100;
}

/** Draws `count` codes of the spec with crypto-random bytes; repeats are possible and resolved later. */
export function drawCodes(spec: CodeSpec, count: number): string[] {
  const { template, alphabet } = spec;
  const size = alphabet.length;
  // Bytes at or above `accept` would make the first (256 mod size) characters likelier: drawn again.
  const accept = 256 - (256 % size);
  const randomAt = [...template].flatMap((c, i) => (c === RANDOM ? [i] : []));
  const chars = Buffer.from(alphabet, "latin1");
  const out = Buffer.from(template.repeat(count), "latin1");
  const codes: string[] = new Array<string>(count);
  let pool = randomBytes(0);
  let next = 0;
  for (let n = 0; n < count; n++) {
    const start = n * template.length;
    for (const at of randomAt) {
      let byte: number;
      do {
        if (next === pool.length) {
          pool = randomBytes(65_536);
          next = 0;
        }
        byte = pool[next++]!;
      } while (byte >= accept);
      out[start + at] = chars[byte % size]!;
    }
    codes[n] = out.toString("latin1", start, start + template.length);
  }
  return codes;
}

export interface CodeGeneration {
  readonly id: string;
  readonly promotionId: string;
  readonly status: GenerationStatus;
  /** Codes asked for. */
  readonly count: number;
  /** Codes created: equal to count when done; while running, those in the open transaction. */
  readonly created: number;
  readonly template: string;
  readonly alphabet: string;
  readonly bitsPerCode: number;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly error?: string;
}

function toResource(row: GenerationRow): CodeGeneration {
  return {
    id: row.id,
    promotionId: row.promotionId,
    status: row.status,
    count: row.requestedCount,
    created: row.createdCount,
    template: row.template,
    alphabet: row.alphabet,
    bitsPerCode: row.bitsPerCode,
    createdAt: row.createdAt.toISOString(),
    ...(row.finishedAt !== null ? { finishedAt: row.finishedAt.toISOString() } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

export interface GenerationOptions {
  /** The request waits for generations up to this count; default SYNC_COUNT_MAX. */
  readonly waitCountMax?: number;
}

/**
 * Starts a generation and answers it: done when the request waited for it, else running. Refused
 * before anything is written: a bad spec (422), no such promotion (404), not a code promotion (422),
 * an ended one (409).
 */
export async function requestGeneration(
  db: Db,
  workspaceId: string,
  promotionId: string,
  request: GenerationRequest,
  now: () => number,
  options: GenerationOptions = {},
): Promise<CodeGeneration> {
  const spec = codeSpec(request);
  await mustBeOpenCodePromotion(db, workspaceId, promotionId, now());
  const id = newId("codegen");
  const job = runGeneration(db, { workspaceId, id, promotionId, spec, count: request.count }, now);
  // The row is visible once started; a failure before that (no connection) surfaces here.
  await Promise.race([job.started, job.finished.then(() => undefined)]);
  if (request.count <= (options.waitCountMax ?? SYNC_COUNT_MAX)) await job.finished;
  else job.finished.catch(() => undefined); // recorded on the row as failed
  return toResource((await findGeneration(db, workspaceId, id))!);
}

export async function readGeneration(
  db: Db,
  workspaceId: string,
  id: string,
  nowMs: number,
): Promise<CodeGeneration> {
  const row = await findGeneration(db, workspaceId, id);
  if (row === null) throw notFound(`code generation ${id}`);
  if (row.status !== "running") return toResource(row);
  return toResource(await reapIfDead(db, workspaceId, row, nowMs));
}

/** A running generation whose connection let go of its lock died with its process: mark it failed. */
async function reapIfDead(
  db: Db,
  workspaceId: string,
  row: GenerationRow,
  nowMs: number,
): Promise<GenerationRow> {
  return transaction(db, async (tx) => {
    if (!(await generationLockIsFree(tx, generationLockKey(workspaceId, row.id)))) return row;
    const locked = await findGeneration(tx, workspaceId, row.id, { forUpdate: true });
    if (locked === null || locked.status !== "running") return locked ?? row;
    const error = "interrupted: the process running it stopped; nothing was created, generate again";
    await finishGeneration(tx, workspaceId, row.id, { status: "failed", error }, nowMs);
    return (await findGeneration(tx, workspaceId, row.id))!;
  });
}

interface Job {
  readonly workspaceId: string;
  readonly id: string;
  readonly promotionId: string;
  readonly spec: CodeSpec;
  readonly count: number;
}

/**
 * Runs a generation on one connection: take its lock, write its row (running), then create every code
 * in one transaction that also marks the row done. `started` resolves once the row is visible.
 */
function runGeneration(
  db: Db,
  job: Job,
  now: () => number,
): { started: Promise<void>; finished: Promise<number> } {
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const finished = (async () => {
    const client = await db.connect();
    const lockKey = generationLockKey(job.workspaceId, job.id);
    try {
      await holdGenerationLock(client, lockKey);
      await insertGeneration(
        client,
        job.workspaceId,
        { id: job.id, promotionId: job.promotionId, requestedCount: job.count, ...job.spec },
        now(),
      );
      markStarted();
      try {
        await client.query("begin");
        const created = await createCodes(db, client, job, now());
        await finishGeneration(
          client,
          job.workspaceId,
          job.id,
          { status: "done", createdCount: created },
          now(),
        );
        await client.query("commit");
        return created;
      } catch (error) {
        await client.query("rollback").catch(() => undefined);
        const message = error instanceof Problem ? (error.detail ?? error.title) : "internal error";
        await finishGeneration(client, job.workspaceId, job.id, { status: "failed", error: message }, now());
        throw error;
      }
    } finally {
      await releaseGenerationLock(client, lockKey).catch(() => undefined);
      client.release();
    }
  })();
  return { started, finished };
}

/** Inserts batches until exactly job.count codes are new in the workspace; answers job.count. */
async function createCodes(db: Db, client: Tx, job: Job, nowMs: number): Promise<number> {
  // Collisions are rare at 60 bits; with fewer, the template may be nearly full: stop drawing then.
  const drawsMax = job.count * 2 + BATCH_SIZE;
  let created = 0;
  let drawn = 0;
  while (created < job.count) {
    if (drawn >= drawsMax)
      throw new Problem(
        409,
        "code_space_exhausted",
        "Conflict",
        `drew ${drawn} codes and only ${created} were new in the workspace; use a longer template`,
      );
    const n = Math.min(BATCH_SIZE, job.count - created);
    // Sorted, the batch walks the primary key's index in order.
    const codes = drawCodes(job.spec, n).sort();
    drawn += n;
    created += await insertGeneratedCodes(client, job.workspaceId, job.promotionId, job.id, codes, nowMs);
    if (created < job.count) await recordProgress(db, job.workspaceId, job.id, created);
  }
  return created;
}

async function mustBeOpenCodePromotion(
  db: Db,
  workspaceId: string,
  id: string,
  nowMs: number,
): Promise<void> {
  const row = await findPromotion(db, workspaceId, id);
  if (row === null) throw notFound(`promotion ${id}`);
  if (row.definition.type !== "code")
    throw invalidField(
      "/",
      "not_a_code_promotion",
      `promotion ${id} is of type ${row.definition.type}, not code`,
    );
  if (derivedStatus(row, nowMs) === "ended")
    throw new Problem(409, "promotion_ended", "Conflict", `promotion ${id} has ended; it takes no new codes`);
}

export const CSV_COLUMNS = ["code", "promotion_id", "created_at"] as const;
const EXPORT_BATCH = 10_000;

/**
 * A promotion's codes in code order, in keyset batches: the export holds one batch in memory at a
 * time, and no connection between batches. Throws 404 before the first row for an unknown promotion.
 */
export async function exportCodes(
  db: Db,
  workspaceId: string,
  promotionId: string,
): Promise<AsyncIterable<readonly [string, string, string]>> {
  if ((await findPromotion(db, workspaceId, promotionId)) === null)
    throw notFound(`promotion ${promotionId}`);
  return (async function* rows() {
    let after: string | null = null;
    for (;;) {
      const batch = await codeBatch(db, workspaceId, promotionId, after, EXPORT_BATCH);
      for (const row of batch) yield [row.code, promotionId, row.createdAt.toISOString()] as const;
      if (batch.length < EXPORT_BATCH) return;
      after = batch.at(-1)!.code;
    }
  })();
}
