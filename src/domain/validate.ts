// Semantic validation of a promotion: the rules that relate fields to each other (seed 004), on top of
// the structural check of promotion.ts. Every problem is collected, never just the first, so a marketer
// sees the whole list at once; each has a stable snake_case code and a path to the field at fault.
import { checkSchema, type Checked, type Issue } from "./check.js";
import {
  PromotionSchema,
  limitRuleKey,
  type Benefit,
  type Condition,
  type ConditionKind,
  type LimitLevel,
  type LimitRule,
  type ProductBenefit,
  type Promotion,
  type PromotionType,
} from "./promotion.js";

const NAME_GRAPHEMES_MAX = 50;
const DESCRIPTION_GRAPHEMES_MAX = 200;
const CONDITIONS_MAX = 10;
const LIMITS_MAX = 10;
const ISSUAL_MAX = 50;

/** These conditions cannot be combined with any other (seed 004 step 3). */
const STANDALONE_CONDITIONS: readonly ConditionKind[] = ["cart_amount", "item_count", "gift_voucher"];

/** Which limit levels each promotion type offers (seed 004, table in section 5.2). */
const LEVELS_BY_TYPE: Readonly<Record<PromotionType, readonly LimitLevel[]>> = {
  pos: ["cart", "customer", "global"],
  loyalty: ["issual", "cart", "customer", "global"],
  loyalty_earning: ["issual", "earn", "cart", "customer"],
  rewards: ["issual", "earn", "cart", "customer"],
  code: ["code", "cart"],
};

const ACTIVATION_TYPES: readonly PromotionType[] = ["loyalty", "loyalty_earning", "rewards"];
/** Types with an earning moment: they need an earning, may expire and may announce the earning. */
const EARNED_TYPES: readonly PromotionType[] = ["loyalty_earning", "rewards"];
const SILENT_TYPES: readonly PromotionType[] = ["pos", "code"];
const EARNING_KINDS_BY_TYPE: Readonly<Partial<Record<PromotionType, readonly string[]>>> = {
  loyalty_earning: ["single_activity", "activity_milestone"],
  rewards: ["direct_trigger"],
};

/** How a marketer reads each type in a message. */
const TYPE_LABELS: Readonly<Record<PromotionType, string>> = {
  pos: "POS",
  loyalty: "loyalty",
  loyalty_earning: "loyalty earning",
  rewards: "rewards",
  code: "code",
};

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });

/** User-perceived characters (grapheme clusters): "👍🏽" is one, though it is four UTF-16 code units. */
export function graphemeLength(text: string): number {
  return Array.from(segmenter.segment(text)).length;
}

/** Structural check first; on a structurally sound promotion, every semantic rule at once. */
export function validatePromotion(input: unknown): Checked<Promotion> {
  const checked = checkSchema<Promotion>(PromotionSchema, input);
  if (!checked.ok) return checked;
  const promotion = checked.value;
  const issues = [
    ...checkTexts(promotion),
    ...checkConditions(promotion.conditions),
    ...checkBenefit(promotion),
    ...checkStacking(promotion),
    ...checkLimits(promotion),
    ...checkTypeFeatures(promotion),
    ...checkSchedule(promotion),
    ...checkEligibility(promotion),
  ];
  return issues.length === 0 ? checked : { ok: false, issues };
}

function issue(code: string, path: string, message: string): Issue {
  return { code, path, message };
}

/** Indices of the values already seen earlier in the list. */
function repeatedIndices<T>(values: readonly T[]): number[] {
  const seen = new Set<T>();
  const repeated: number[] = [];
  values.forEach((value, i) => {
    if (seen.has(value)) repeated.push(i);
    seen.add(value);
  });
  return repeated;
}

/** A snake_case vocabulary word as a marketer reads it: "gift_voucher" → "gift voucher". */
function words(kind: string): string {
  return kind.replaceAll("_", " ");
}

function hasCondition(conditions: readonly Condition[], ...kinds: ConditionKind[]): boolean {
  return conditions.some((c) => kinds.includes(c.kind));
}

function checkTexts(p: Promotion): Issue[] {
  const issues: Issue[] = [];
  if (p.name.trim() === "") issues.push(issue("name_blank", "/name", "The name must not be blank."));
  if (graphemeLength(p.name) > NAME_GRAPHEMES_MAX) {
    issues.push(issue("name_too_long", "/name", `The name can be up to ${NAME_GRAPHEMES_MAX} characters.`));
  }
  if (p.description !== undefined && graphemeLength(p.description) > DESCRIPTION_GRAPHEMES_MAX) {
    issues.push(
      issue(
        "description_too_long",
        "/description",
        `The description can be up to ${DESCRIPTION_GRAPHEMES_MAX} characters.`,
      ),
    );
  }
  return issues;
}

function checkConditions(conditions: readonly Condition[]): Issue[] {
  const issues: Issue[] = [];
  if (conditions.length > CONDITIONS_MAX) {
    issues.push(
      issue(
        "too_many_conditions",
        "/conditions",
        `A promotion can have at most ${CONDITIONS_MAX} conditions.`,
      ),
    );
  }
  if (conditions.length > 1) {
    conditions.forEach((c, i) => {
      if (!STANDALONE_CONDITIONS.includes(c.kind)) return;
      const message = `A ${words(c.kind)} condition must be the only condition of the promotion.`;
      issues.push(issue("condition_must_stand_alone", `/conditions/${i}/kind`, message));
    });
  }
  return issues;
}

function checkBenefit(p: Promotion): Issue[] {
  const benefit = p.benefit;
  const issues = [...checkRepeat(benefit)];
  if (benefit.kind === "payment_mode" && !hasCondition(p.conditions, "payment_mode")) {
    const message = "A payment mode benefit needs a payment mode condition.";
    issues.push(issue("payment_mode_benefit_needs_condition", "/benefit/kind", message));
  }
  if (benefit.kind === "products") issues.push(...checkProductTarget(benefit, p.conditions));
  return issues;
}

function checkRepeat(benefit: Benefit): Issue[] {
  const repeat = benefit.repeat;
  if (repeat === undefined) return [];
  const issues: Issue[] = [];
  if (repeat.kpi === "amount" && benefit.value.kind !== "fixed_amount") {
    const message = "Repeating by amount spent works only with a fixed amount benefit.";
    issues.push(issue("repeat_amount_needs_fixed_amount", "/benefit/repeat/kpi", message));
  }
  const isGroup =
    benefit.kind === "products" &&
    (benefit.target.kind === "combo" || benefit.target.kind === "product_sets");
  if (isGroup && (repeat.per !== 1 || repeat.kpi !== "quantity")) {
    const message =
      "A combo or product sets benefit repeats once per complete group: set per 1 and KPI quantity.";
    issues.push(issue("repeat_per_must_be_one_for_groups", "/benefit/repeat", message));
  }
  return issues;
}

function checkProductTarget(benefit: ProductBenefit, conditions: readonly Condition[]): Issue[] {
  const target = benefit.target;
  const issues: Issue[] = [];
  switch (target.kind) {
    case "selected_in_condition":
      if (benefit.value.kind === "free_product") {
        const message =
          "A free product cannot target the products selected in the condition; target a product instead.";
        issues.push(issue("free_product_not_selected_in_condition", "/benefit/target/kind", message));
      }
      if (!hasCondition(conditions, "line_amount", "line_quantity")) {
        const message =
          "Targeting the products selected in the condition needs a line amount or line quantity condition.";
        issues.push(issue("selected_in_condition_needs_line_condition", "/benefit/target/kind", message));
      }
      return issues;
    case "sku":
    case "selector":
      if (target.quantity.kind === "as_in_condition" && !hasCondition(conditions, "line_quantity")) {
        const message = "Taking the quantity from the condition needs a line quantity condition.";
        issues.push(issue("as_in_condition_needs_line_quantity", "/benefit/target/quantity/kind", message));
      }
      return issues;
    case "combo":
      return checkCombo(target.blocks);
    case "product_sets":
      return checkProductSets(target.sets);
    default:
      return assertNever(target);
  }
}

function checkCombo(blocks: Extract<ProductBenefit["target"], { kind: "combo" }>["blocks"]): Issue[] {
  const blockOfSku = new Map<string, number>();
  const issues: Issue[] = [];
  blocks.forEach((block, b) => {
    block.skus.forEach((sku, s) => {
      const first = blockOfSku.get(sku);
      if (first === undefined) blockOfSku.set(sku, b);
      else if (first !== b) {
        const message = `SKU ${sku} is already in block ${first + 1}; a SKU can be in one block only.`;
        issues.push(issue("combo_sku_in_two_blocks", `/benefit/target/blocks/${b}/skus/${s}`, message));
      }
    });
  });
  return issues;
}

function checkProductSets(
  sets: Extract<ProductBenefit["target"], { kind: "product_sets" }>["sets"],
): Issue[] {
  const issues: Issue[] = [];
  if (!sets.some((set) => set.discountedUnits !== undefined)) {
    const message = "At least one product set must get the discount (discounted units).";
    issues.push(issue("product_sets_need_discounted_set", "/benefit/target/sets", message));
  }
  const personal = sets.flatMap((set, i) => (set.products.kind === "personal_list" ? [i] : []));
  for (const i of personal.slice(1)) {
    const message = "Only one product set can be the customer's personal list.";
    issues.push(issue("one_personal_list_only", `/benefit/target/sets/${i}/products/kind`, message));
  }
  return issues;
}

function checkStacking(p: Promotion): Issue[] {
  const issues: Issue[] = [];
  const kind = p.benefit.kind;
  if (p.stacking?.exclusiveAtCartLevel === true && kind !== "cart" && kind !== "payment_mode") {
    const message = "Exclusive at cart level is only for cart or payment mode benefits.";
    issues.push(issue("exclusivity_does_not_match_scope", "/stacking/exclusiveAtCartLevel", message));
  }
  if (p.stacking?.exclusiveForProducts === true && kind !== "products") {
    const message = "Exclusive for selected products is only for product benefits.";
    issues.push(issue("exclusivity_does_not_match_scope", "/stacking/exclusiveForProducts", message));
  }
  return issues;
}

function checkLimits(p: Promotion): Issue[] {
  const limits = p.limits ?? [];
  const issues: Issue[] = [];
  if (limits.length > LIMITS_MAX) {
    issues.push(
      issue("too_many_limits", "/limits", `A promotion can have at most ${LIMITS_MAX} limit rules.`),
    );
  }
  for (const i of repeatedIndices(limits.map(limitRuleKey))) {
    issues.push(
      issue("duplicate_limit", `/limits/${i}`, "This limit rule repeats an earlier one; remove one of them."),
    );
  }
  issues.push(...checkLimitWindows(limits));
  limits.forEach((rule, i) => issues.push(...checkLimitRule(rule, `/limits/${i}`, p.type)));
  if (p.type === "code" && !limits.some((rule) => rule.level === "code")) {
    issues.push(
      issue("code_promotion_needs_code_limit", "/limits", "A code promotion needs a per-code limit."),
    );
  }
  return issues;
}

/** Fixed and rolling windows count differently, so one promotion uses one kind (lifetime goes with both). */
function checkLimitWindows(limits: readonly LimitRule[]): Issue[] {
  const firstWindowed = limits.find((rule) => rule.window.kind !== "lifetime");
  if (firstWindowed === undefined) return [];
  const expected = firstWindowed.window.kind;
  const issues: Issue[] = [];
  limits.forEach((rule, i) => {
    if (rule.window.kind === "lifetime" || rule.window.kind === expected) return;
    const message =
      "Fixed cycles and rolling windows cannot be mixed in one promotion; use one kind for all limits.";
    issues.push(issue("limit_windows_mixed", `/limits/${i}/window/kind`, message));
  });
  return issues;
}

function checkLimitRule(rule: LimitRule, path: string, type: PromotionType): Issue[] {
  const issues: Issue[] = [];
  if (!LEVELS_BY_TYPE[type].includes(rule.level)) {
    const message = `A ${TYPE_LABELS[type]} promotion cannot have a ${rule.level} limit.`;
    issues.push(issue("limit_level_not_allowed", `${path}/level`, message));
  }
  const lifetime = rule.window.kind === "lifetime";
  if (rule.level === "issual") {
    if (rule.measure !== "times" || !lifetime) {
      const message = "An issual limit counts times over the promotion's lifetime.";
      issues.push(issue("issual_limit_must_be_times_lifetime", path, message));
    }
    if (rule.max > ISSUAL_MAX) {
      const message = `A customer can be issued the promotion at most ${ISSUAL_MAX} times.`;
      issues.push(issue("issual_limit_too_high", `${path}/max`, message));
    }
  }
  if (rule.level === "cart" && (rule.measure === "transactions" || !lifetime)) {
    const message = "A cart limit counts times or discount within one cart, without a reset period.";
    issues.push(issue("cart_limit_invalid", path, message));
  }
  return issues;
}

/** Activation, earning, expiry and communication exist only for some promotion types (seed 004). */
function checkTypeFeatures(p: Promotion): Issue[] {
  const issues: Issue[] = [];
  if (p.activationRequired === true && !ACTIVATION_TYPES.includes(p.type)) {
    const message = "Customer activation is only for loyalty, loyalty earning and rewards promotions.";
    issues.push(issue("activation_not_allowed_for_type", "/activationRequired", message));
  }
  issues.push(...checkEarning(p));
  if (p.expiry !== undefined && !EARNED_TYPES.includes(p.type)) {
    const message = "An expiry is only for loyalty earning and rewards promotions.";
    issues.push(issue("expiry_not_allowed_for_type", "/expiry", message));
  }
  if (p.communication !== undefined && SILENT_TYPES.includes(p.type)) {
    const message = "POS and code promotions have no communication triggers.";
    issues.push(issue("communication_not_allowed_for_type", "/communication", message));
  } else if (p.communication?.onEarning !== undefined && !EARNED_TYPES.includes(p.type)) {
    const message = "The on-earning message is only for loyalty earning and rewards promotions.";
    issues.push(issue("on_earning_not_allowed_for_type", "/communication/onEarning", message));
  }
  return issues;
}

function checkEarning(p: Promotion): Issue[] {
  const kinds = EARNING_KINDS_BY_TYPE[p.type];
  if (kinds === undefined) {
    if (p.earning === undefined) return [];
    const message = "Only loyalty earning and rewards promotions have an earning.";
    return [issue("earning_not_allowed_for_type", "/earning", message)];
  }
  if (p.earning === undefined) {
    return [issue("earning_required", "/earning", `A ${TYPE_LABELS[p.type]} promotion needs an earning.`)];
  }
  if (!kinds.includes(p.earning.kind)) {
    const expected = kinds.map(words).join(" or ");
    const message = `A ${TYPE_LABELS[p.type]} promotion is earned by ${expected}, not ${words(p.earning.kind)}.`;
    return [issue("earning_kind_does_not_match_type", "/earning/kind", message)];
  }
  return [];
}

function checkSchedule(p: Promotion): Issue[] {
  const { startsAt, endsAt, recurrence } = p.schedule;
  const issues: Issue[] = [];
  if (endsAt !== undefined && Date.parse(endsAt) <= Date.parse(startsAt)) {
    issues.push(issue("schedule_ends_before_start", "/schedule/endsAt", "The end must be after the start."));
  }
  if (recurrence !== undefined) {
    const [field, values] =
      recurrence.kind === "days_of_week" ? ["days", recurrence.days] : ["dates", recurrence.dates];
    for (const i of repeatedIndices(values)) {
      const message = `${values[i]} is listed twice.`;
      issues.push(issue("duplicate_recurrence_value", `/schedule/recurrence/${field}/${i}`, message));
    }
  }
  return issues;
}

function checkEligibility(p: Promotion): Issue[] {
  if (p.eligibility?.kind !== "tiers") return [];
  return repeatedIndices(p.eligibility.tierIds).map((i) =>
    issue("duplicate_tier", `/eligibility/tierIds/${i}`, "This tier is listed twice."),
  );
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
