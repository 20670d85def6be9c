// Money is an integer count of a currency's minor units. No floats touch a money path: percentages
// are integer basis points, every division names its rounding mode, and every split of an amount over
// parts is done by one function whose parts sum exactly to the whole.

/** Largest amount Till accepts anywhere: keeps `amount * 10_000` exact in a double (2^53). */
export const MINOR_MAX = 100_000_000_000; // 1e11 minor units = one billion in a two-decimal currency
const BPS_FULL = 10_000;

export type RoundingMode = "half_even" | "half_up" | "down";

/**
 * `numerator / denominator` rounded to an integer by the named mode. Both are non-negative integers;
 * `half_even` (banker's rounding) is Till's default because it is unbiased over many lines.
 */
export function divRound(numerator: number, denominator: number, mode: RoundingMode): number {
  if (denominator <= 0 || numerator < 0)
    throw new Error("divRound takes a non-negative numerator and a positive denominator");
  const quotient = Math.floor(numerator / denominator);
  const remainder = numerator - quotient * denominator;
  if (mode === "down" || remainder === 0) return quotient;
  const twice = remainder * 2;
  if (twice > denominator) return quotient + 1;
  if (twice < denominator) return quotient;
  return mode === "half_up" || quotient % 2 === 1 ? quotient + 1 : quotient;
}

/** `amount × bps / 10 000`, rounded half-even: the one way Till takes a percentage of money. */
export function percentOf(amount: number, bps: number): number {
  return divRound(amount * bps, BPS_FULL, "half_even");
}

/**
 * Splits `total` over parts in proportion to `weights` so that the parts sum exactly to `total`
 * (largest remainder method). Ties in the remainder go to the lower index, so callers that want a
 * result independent of input order pass the weights in a canonical order. When `total` does not
 * exceed the sum of the weights, no part exceeds its weight.
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  const parts = new Array<number>(weights.length).fill(0);
  if (total === 0 || weights.length === 0) return parts;
  let weightSum = 0;
  for (const w of weights) weightSum += w;
  if (weightSum <= 0) throw new Error("allocate needs a positive weight sum");
  let given = 0;
  const remainders: number[] = new Array<number>(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const product = total * weights[i]!;
    const share = Math.floor(product / weightSum);
    parts[i] = share;
    remainders[i] = product - share * weightSum;
    given += share;
  }
  let left = total - given;
  if (left > 0 && weights.length > 32) {
    const order = remainders.map((_, i) => i).sort((a, b) => remainders[b]! - remainders[a]! || a - b);
    for (let k = 0; k < left; k++) parts[order[k]!]! += 1;
    return parts;
  }
  // Fewer units are left over than there are parts: hand them out one by one to the largest
  // remainders (ties: the lower index), taking each remainder out once it has had its unit.
  for (; left > 0; left--) {
    let best = -1;
    for (let i = 0; i < remainders.length; i++) {
      if (remainders[i]! >= 0 && (best < 0 || remainders[i]! > remainders[best]!)) best = i;
    }
    parts[best]! += 1;
    remainders[best] = -1;
  }
  return parts;
}

/** Minor-unit exponent per ISO 4217 code, for the few currencies that are not two-decimal. */
const MINOR_DIGITS: Readonly<Record<string, number>> = {
  BHD: 3,
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  IQD: 3,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  PYG: 0,
  RWF: 0,
  TND: 3,
  UGX: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
};

export function minorDigits(currency: string): number {
  return MINOR_DIGITS[currency] ?? 2;
}

/** "12.50" for 1250 in a two-decimal currency; exact, never through a float division. */
export function formatMinor(amount: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  if (digits === 0) return `${sign}${abs}`;
  const text = String(abs).padStart(digits + 1, "0");
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}
