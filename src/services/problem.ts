// Every error leaves the API as RFC 9457 problem details: a stable `type` slug, a title, the HTTP
// status, and for bad input every issue with its path. Domain refusals are thrown as Problem by the
// services; anything else is a bug, logged and answered as a bare 500.
import type { Issue } from "../domain/check.js";

export const PROBLEM_BASE = "https://till.dev/problems/";

export class Problem extends Error {
  constructor(
    readonly status: number,
    /** Stable snake_case slug; the `type` URI ends with it. */
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: readonly Issue[],
  ) {
    super(detail ?? title);
  }

  toJSON(instance?: string): Record<string, unknown> {
    return {
      type: PROBLEM_BASE + this.code,
      title: this.title,
      status: this.status,
      ...(this.detail !== undefined ? { detail: this.detail } : {}),
      ...(instance !== undefined ? { instance } : {}),
      ...(this.errors !== undefined ? { errors: this.errors } : {}),
    };
  }
}

/** Bad input: every issue listed, and nothing changed. */
export function invalid(issues: readonly Issue[], status = 400): Problem {
  const first = issues[0];
  const detail = first ? `${first.path}: ${first.message}` : undefined;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new Problem(
    status,
    status === 422 ? "unprocessable" : "invalid_request",
    "The request is not valid",
    detail && detail + more,
    issues,
  );
}

export function invalidField(path: string, code: string, message: string, status = 422): Problem {
  return invalid([{ code, path, message }], status);
}

export function notFound(what: string): Problem {
  return new Problem(404, "not_found", "Not found", `${what} does not exist`);
}

export function conflict(code: string, detail: string): Problem {
  return new Problem(409, code, "Conflict", detail);
}
