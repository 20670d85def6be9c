// The one error handler: RFC 9457 problem details for everything, the field named for bad input.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { Problem } from "../services/problem.js";
import { RequestInvalid } from "./validation.js";

const PROBLEM_TYPE = "application/problem+json";

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem = toProblem(error);
  if (problem.status >= 500) request.log.error({ err: error }, "request failed");
  void reply
    .code(problem.status)
    .type(PROBLEM_TYPE)
    .send(problem.toJSON(request.url.split("?")[0]));
}

function toProblem(error: FastifyError): Problem {
  if (error instanceof Problem) return error;
  const cause = (error as { validation?: unknown; cause?: unknown }).cause;
  if (error instanceof RequestInvalid) return requestInvalid(error);
  if (cause instanceof RequestInvalid) return requestInvalid(cause);
  if (Array.isArray((error as { validation?: unknown }).validation)) {
    return new Problem(400, "invalid_request", "The request is not valid", error.message);
  }
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new Problem(413, "body_too_large", "The body is too large", error.message);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new Problem(415, "unsupported_media_type", "Send JSON", "the body must be application/json");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new Problem(400, "invalid_json", "The body is not valid JSON", "the body is empty");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new Problem(400, "invalid_json", "The body is not valid JSON", error.message);
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    // Fastify's own 4xx (a body that is not JSON, a poisoned prototype, …).
    const code = error instanceof SyntaxError ? "invalid_json" : "bad_request";
    return new Problem(error.statusCode, code, "Bad request", error.message);
  }
  return new Problem(500, "internal", "Internal error", "the error was logged; the request changed nothing");
}

function requestInvalid(error: RequestInvalid): Problem {
  const first = error.issues[0];
  const detail = first ? `${first.path}: ${first.message}` : undefined;
  return new Problem(400, "invalid_request", "The request is not valid", detail, error.issues);
}
