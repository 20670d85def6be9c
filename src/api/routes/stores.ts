import type { FastifyInstance } from "fastify";

export async function stores(_app: FastifyInstance): Promise<void> {}
