// Request validation. Bodies go through the domain's schema checker, so every issue carries a stable
// code and a JSON-pointer path (tagged unions are dispatched on `kind`); path and query parameters,
// which arrive as strings, go through Ajv with type coercion.
import { Ajv } from "ajv";
import addFormatsImport from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";
import { checkSchema, type Issue } from "../domain/check.js";

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

export class RequestInvalid extends Error {
  constructor(readonly issues: readonly Issue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join("; "));
  }
}

const ajv = addFormats(new Ajv({ coerceTypes: "array", useDefaults: true, allErrors: true, strict: false }));

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart === "body") {
    return (data: unknown) => {
      const checked = checkSchema(schema, data);
      return checked.ok ? { value: data } : { error: new RequestInvalid(checked.issues) };
    };
  }
  const validate = ajv.compile(schema as object);
  const prefix = httpPart === "querystring" ? "/query" : `/${httpPart ?? "params"}`;
  return (data: unknown) => {
    if (validate(data)) return { value: data };
    const issues: Issue[] = (validate.errors ?? []).map((e) => {
      const field =
        e.keyword === "required"
          ? `/${String(e.params["missingProperty"])}`
          : e.keyword === "additionalProperties"
            ? `/${String(e.params["additionalProperty"])}`
            : e.instancePath;
      const code =
        e.keyword === "required"
          ? "required"
          : e.keyword === "additionalProperties"
            ? "unknown_field"
            : "invalid_value";
      return { code, path: prefix + field, message: e.message ?? "is not valid" };
    });
    return { error: new RequestInvalid(issues) };
  };
};
