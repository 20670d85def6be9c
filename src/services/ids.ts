// Identifiers and secrets. Ids are prefixed so a log line says what it names; secrets are 256 random
// bits, shown once and stored only as their sha256.
import { createHash, randomBytes, randomUUID } from "node:crypto";

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll("-", "")}`;
}

export function newSecret(): string {
  return `till_${randomBytes(32).toString("base64url")}`;
}

export function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** JSON with object keys sorted, so two equal requests hash the same whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
