// Structural validation of JSON against the TypeBox (JSON Schema) definitions, collecting every issue
// with a JSON-pointer-like path. Written here rather than taken from a library for one reason: tagged
// unions are dispatched on their `kind`, so a wrong field inside a benefit is reported at that field
// ("/benefit/value/bps: must be at most 10000") and not as "does not match any of 3 schemas".

/** One problem with an input: a stable snake_case code, where it is, and a sentence for a person. */
export interface Issue {
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

export type Checked<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly Issue[] };

interface Schema {
  type?: string;
  const?: unknown;
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  patternProperties?: Record<string, Schema>;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
}

const ISSUES_MAX = 200;
const DEPTH_MAX = 32;
const patternCache = new Map<string, RegExp>();

export function checkSchema<T>(schema: unknown, value: unknown): Checked<T> {
  const issues: Issue[] = [];
  walk(schema as Schema, value, "", issues, 0);
  return issues.length === 0 ? { ok: true, value: value as T } : { ok: false, issues };
}

function add(issues: Issue[], code: string, path: string, message: string): void {
  if (issues.length < ISSUES_MAX) issues.push({ code, path: path || "/", message });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

function walk(schema: Schema, value: unknown, path: string, issues: Issue[], depth: number): void {
  if (depth > DEPTH_MAX) return add(issues, "too_deep", path, `nesting deeper than ${DEPTH_MAX} levels`);
  if (schema.anyOf) return walkUnion(schema.anyOf, value, path, issues, depth);
  if (schema.const !== undefined) {
    if (value !== schema.const) add(issues, "invalid_value", path, `must be ${JSON.stringify(schema.const)}`);
    return;
  }
  // A schema with no type accepts any value (JSON Schema's {}): the field is checked by its owner,
  // e.g. an expression (domain/loyalty) or a batch's events one by one.
  if (schema.type === undefined) return;
  switch (schema.type) {
    case "object":
      return walkObject(schema, value, path, issues, depth);
    case "array":
      return walkArray(schema, value, path, issues, depth);
    case "string":
      return walkString(schema, value, path, issues);
    case "integer":
    case "number":
      return walkNumber(schema, value, path, issues);
    case "boolean":
      if (typeof value !== "boolean")
        add(issues, "invalid_type", path, `must be a boolean, got ${describe(value)}`);
      return;
    default:
      throw new Error(`checkSchema: unsupported schema at ${path}: ${JSON.stringify(schema).slice(0, 80)}`);
  }
}

function walkUnion(variants: Schema[], value: unknown, path: string, issues: Issue[], depth: number): void {
  const literals = variants.filter((v) => v.const !== undefined).map((v) => v.const);
  if (literals.length === variants.length) {
    if (!literals.includes(value)) {
      add(
        issues,
        "invalid_value",
        path,
        `must be one of ${literals.map((l) => JSON.stringify(l)).join(", ")}`,
      );
    }
    return;
  }
  const tagged = variants.filter((v) => v.properties?.kind?.const !== undefined);
  if (tagged.length === variants.length) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return add(issues, "invalid_type", path, `must be an object, got ${describe(value)}`);
    }
    const kind = (value as { kind?: unknown }).kind;
    const match = tagged.find((v) => v.properties!.kind!.const === kind);
    if (!match) {
      const kinds = tagged.map((v) => JSON.stringify(v.properties!.kind!.const)).join(", ");
      return add(
        issues,
        kind === undefined ? "required" : "invalid_kind",
        `${path}/kind`,
        `must be one of ${kinds}`,
      );
    }
    return walk(match, value, path, issues, depth + 1);
  }
  // An untagged union (e.g. string | number): the first variant that fits wins.
  for (const variant of variants) {
    const trial: Issue[] = [];
    walk(variant, value, path, trial, depth + 1);
    if (trial.length === 0) return;
  }
  add(issues, "invalid_type", path, `has the wrong type (${describe(value)})`);
}

function walkObject(schema: Schema, value: unknown, path: string, issues: Issue[], depth: number): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return add(issues, "invalid_type", path, `must be an object, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  const properties = schema.properties ?? {};
  for (const key of schema.required ?? []) {
    if (record[key] === undefined) add(issues, "required", `${path}/${key}`, "is required");
  }
  for (const [key, child] of Object.entries(record)) {
    const childPath = `${path}/${key}`;
    const propertySchema = properties[key];
    if (propertySchema) {
      if (child !== undefined) walk(propertySchema, child, childPath, issues, depth + 1);
      continue;
    }
    const patternEntry = schema.patternProperties && Object.entries(schema.patternProperties)[0];
    if (patternEntry) {
      walk(patternEntry[1], child, childPath, issues, depth + 1);
    } else if (schema.additionalProperties === false) {
      add(issues, "unknown_field", childPath, "is not a known field");
    }
  }
}

function walkArray(schema: Schema, value: unknown, path: string, issues: Issue[], depth: number): void {
  if (!Array.isArray(value))
    return add(issues, "invalid_type", path, `must be an array, got ${describe(value)}`);
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    add(issues, "too_few", path, `must hold at least ${schema.minItems} item(s)`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    return add(issues, "too_many", path, `must hold at most ${schema.maxItems} items`);
  }
  if (schema.items)
    for (let i = 0; i < value.length; i++) walk(schema.items, value[i], `${path}/${i}`, issues, depth + 1);
}

function walkString(schema: Schema, value: unknown, path: string, issues: Issue[]): void {
  if (typeof value !== "string")
    return add(issues, "invalid_type", path, `must be a string, got ${describe(value)}`);
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    add(
      issues,
      "too_short",
      path,
      schema.minLength === 1 ? "must not be empty" : `must be at least ${schema.minLength} characters`,
    );
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    add(issues, "too_long", path, `must be at most ${schema.maxLength} characters`);
  }
  if (schema.pattern !== undefined) {
    let re = patternCache.get(schema.pattern);
    if (!re) patternCache.set(schema.pattern, (re = new RegExp(schema.pattern)));
    if (!re.test(value)) add(issues, "invalid_format", path, `must match ${schema.pattern}`);
  }
  if (schema.format === "date-time" && !isInstant(value)) {
    add(
      issues,
      "invalid_format",
      path,
      "must be an ISO 8601 date-time with an offset, e.g. 2026-05-01T09:00:00Z",
    );
  }
}

function walkNumber(schema: Schema, value: unknown, path: string, issues: Issue[]): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    return add(issues, "invalid_type", path, `must be a number, got ${describe(value)}`);
  }
  if (schema.type === "integer" && !Number.isInteger(value)) {
    return add(issues, "not_integer", path, "must be a whole number");
  }
  if (schema.minimum !== undefined && value < schema.minimum)
    add(issues, "too_small", path, `must be at least ${schema.minimum}`);
  if (schema.maximum !== undefined && value > schema.maximum)
    add(issues, "too_big", path, `must be at most ${schema.maximum}`);
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 instant: a date, a time and an explicit offset (no local times: they are ambiguous). */
export function isInstant(text: string): boolean {
  return INSTANT.test(text) && !Number.isNaN(Date.parse(text));
}
