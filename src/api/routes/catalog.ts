import type { FastifyInstance } from "fastify";

export async function catalog(_app: FastifyInstance): Promise<void> {}
