import type { FastifyInstance } from "fastify";

export async function returns(_app: FastifyInstance): Promise<void> {}
