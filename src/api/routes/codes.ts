// Bulk codes: generate unique random codes for a code promotion, follow a generation, export a
// promotion's codes as CSV. Admin and marketer keys only: codes are what a customer types to get a
// discount. Also the guessing guard that the quote and sale routes wrap around pricing.
import { Readable } from "node:stream";
import { stringify } from "csv-stringify";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import Type from "typebox";
import { codeGuardOf, GuessesThrottled } from "../../services/code-guard.js";
import {
  CSV_COLUMNS,
  GenerationRequestSchema,
  SYNC_COUNT_MAX,
  exportCodes,
  readGeneration,
  requestGeneration,
  type GenerationRequest,
} from "../../services/codes.js";

const closed = { additionalProperties: false } as const;
const Id = Type.String({ minLength: 1, maxLength: 100 });
const IdParams = Type.Object({ id: Id }, closed);
type IdParams = { id: string };

const WRITERS = ["admin", "marketer"] as const;
const TAGS = ["Codes"];

export async function codes(app: FastifyInstance): Promise<void> {
  app.post<{ Params: IdParams; Body: GenerationRequest }>(
    "/promotions/:id/codes/generate",
    {
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "Generate unique random codes for a code promotion",
        description: `Exactly count new codes, unique in the workspace, all or none, with at least 60 random bits each unless allowLowEntropy (fewer is a 422 at /pattern or /length). Up to ${SYNC_COUNT_MAX.toLocaleString("en")} codes the answer is the finished generation (201); more answer 202 with the running generation: follow it at its Location.`,
        params: IdParams,
        body: GenerationRequestSchema,
      },
    },
    async (request, reply) => {
      const { deps } = app;
      const generation = await requestGeneration(
        deps.db,
        request.principal.workspaceId,
        request.params.id,
        request.body,
        deps.now,
      );
      return reply
        .code(generation.status === "running" ? 202 : 201)
        .header("location", `/v1/code-generations/${generation.id}`)
        .send(generation);
    },
  );

  app.get<{ Params: IdParams }>(
    "/code-generations/:id",
    {
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "A code generation: status and progress",
        description:
          "running (created counts the codes of its open transaction), done (created = count), or failed (error says why; it created nothing).",
        params: IdParams,
      },
    },
    async (request) =>
      readGeneration(app.deps.db, request.principal.workspaceId, request.params.id, app.deps.now()),
  );

  app.get<{ Params: IdParams }>(
    "/promotions/:id/codes.csv",
    {
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "Export a promotion's codes as CSV, streamed",
        description: "Header code,promotion_id,created_at, then one line per code, in code order.",
        params: IdParams,
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const rows = await exportCodes(app.deps.db, request.principal.workspaceId, id);
      const csv = Readable.from(rows).pipe(stringify({ header: true, columns: [...CSV_COLUMNS] }));
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${encodeURIComponent(id)}-codes.csv"`)
        .send(csv);
    },
  );
}

/**
 * The guessing guard around pricing: refuses (429 with Retry-After) a request that presents codes
 * from a key over its limit, and afterwards counts the unused codes that match no code of the
 * workspace. `saw` takes a thunk so that requests without codes parse nothing.
 */
export function guardGuesses(
  app: FastifyInstance,
  request: FastifyRequest<{ Body: { codes?: string[] } }>,
  reply: FastifyReply,
): { saw(unusedCodes: () => readonly string[]): Promise<void> } {
  const guard = codeGuardOf(app.deps);
  const { workspaceId, keyId } = request.principal;
  const { codes } = request.body;
  try {
    guard.admit(keyId, codes, app.deps.now());
  } catch (error) {
    if (error instanceof GuessesThrottled) void reply.header("retry-after", String(error.retryAfterS));
    throw error;
  }
  return {
    async saw(unusedCodes) {
      if (codes === undefined || codes.length === 0) return;
      await guard.record(app.deps.db, workspaceId, keyId, unusedCodes(), app.deps.now());
    },
  };
}
