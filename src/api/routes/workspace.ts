import type { FastifyInstance } from "fastify";

export async function workspace(_app: FastifyInstance): Promise<void> {}
