// Promotions as CSV (docs/csv.md): upload a file to import, follow the import, export in the same
// format. Admin and marketer keys only. The text/csv body parser is registered in this plugin's scope,
// so only these routes take CSV bodies.
import { Readable } from "node:stream";
import { stringify } from "csv-stringify";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import {
  SYNC_ROWS_MAX,
  exportPromotions,
  readImport,
  startImport,
  type ExportFilter,
} from "../../services/promotion-imports.js";
import { DERIVED_STATUSES } from "../../services/promotions.js";

const CSV_BODY_BYTES_MAX = 20 * 1_048_576;
const closed = { additionalProperties: false } as const;
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, closed);
const ImportQuery = Type.Object(
  {
    dryRun: Type.Boolean({ default: false, description: "Check every row and count, write nothing" }),
    publish: Type.Boolean({ default: false, description: "Publish the promotions the import creates" }),
  },
  closed,
);
const ExportQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(DERIVED_STATUSES.map((s) => Type.Literal(s)))),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
  },
  closed,
);

const WRITERS = ["admin", "marketer"] as const;
const TAGS = ["Promotions"];

export async function promotionImports(app: FastifyInstance): Promise<void> {
  app.addContentTypeParser(
    ["text/csv", "application/csv"],
    { parseAs: "string", bodyLimit: CSV_BODY_BYTES_MAX },
    (_request, body, done) => done(null, body),
  );

  app.post<{ Body: string; Querystring: { dryRun: boolean; publish: boolean } }>(
    "/promotions/imports",
    {
      config: { roles: WRITERS },
      bodyLimit: CSV_BODY_BYTES_MAX,
      schema: {
        tags: TAGS,
        summary: "Import promotions from CSV (seed 001 columns)",
        description: `Body: the CSV file (content-type text/csv, at most 20 MiB). Each row is validated like a promotion sent to POST /promotions; bad rows are reported (row, column, code, message) while the good ones are imported. A row with the externalId of an existing promotion updates it (identical: unchanged). Up to ${SYNC_ROWS_MAX.toLocaleString("en")} rows the answer is the finished import (201); more answer 202 with the running import: follow it at its Location. A file that cannot be read (bad header, broken quoting) is a 422 and imports nothing.`,
        querystring: ImportQuery,
        consumes: ["text/csv"],
      },
    },
    async (request, reply) => {
      const { deps } = app;
      const body = typeof request.body === "string" ? request.body : "";
      const result = await startImport(deps.db, request.principal.workspaceId, body, request.query, deps.now);
      return reply
        .code(result.status === "running" ? 202 : 201)
        .header("location", `/v1/promotions/imports/${result.id}`)
        .send(result);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/promotions/imports/:id",
    {
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "A promotion import: status, progress, counts and the report of bad rows",
        params: IdParams,
      },
    },
    async (request) =>
      readImport(app.deps.db, request.principal.workspaceId, request.params.id, app.deps.now()),
  );

  app.get<{ Querystring: ExportFilter }>(
    "/promotions/export.csv",
    {
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "Export promotions as CSV, streamed, in the import format",
        description:
          "In id order; status and tag filter like the list. Promotions the format cannot hold exactly (conditions, other benefits, …) are left out. Importing the file gives the same definitions.",
        querystring: ExportQuery,
      },
    },
    async (request, reply) => {
      const rows = await exportPromotions(
        app.deps.db,
        request.principal.workspaceId,
        request.query,
        app.deps.now(),
      );
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", 'attachment; filename="promotions.csv"')
        .send(Readable.from(rows).pipe(stringify()));
    },
  );
}
