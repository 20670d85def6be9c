import type { FastifyInstance } from "fastify";

export async function promotions(_app: FastifyInstance): Promise<void> {}
