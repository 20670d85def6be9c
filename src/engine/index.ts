// The engine's public surface: compile definitions once, evaluate many baskets.
export { compilePromotions, type PromotionIndex } from "./compile.js";
export { evaluate } from "./evaluate.js";
export type * from "./types.js";
