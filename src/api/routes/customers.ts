import type { FastifyInstance } from "fastify";

export async function customers(_app: FastifyInstance): Promise<void> {}
