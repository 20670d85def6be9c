// The loyalty model at work (issue 4): the compiled model per workspace, the profile state that every
// event updates incrementally, and what pricing sees of it (tiers as memberships, segments).
//
// Where the work happens:
// - A sale or a return folds its own events into the customer's state inside its transaction, in one
//   statement that also inserts the events and records tier moves; the write is optimistic (it only
//   replaces the state version pricing read) and falls back to locking the row. So the next basket is
//   priced with the new tier, and a crash loses neither the sale nor its events.
// - POST /v1/events does the same for a batch: insert (a resent event is not new), lock the states of
//   the customers touched in key order, fold, write, in one transaction.
// - Pricing evaluates expressions, segments and tiers at the instant of the basket from the stored
//   state, so a purchase that falls out of a 365-day window stops counting on time, without a job.
// - A state built under an older definition (its aggregate's fingerprint differs) is rebuilt from the
//   profile's events when it is next read; `till loyalty recompute` rebuilds every profile at once.
import { emptyState, evaluateProfile, foldEvents, isCurrent, rebuildState } from "../domain/loyalty/state.js";
import type { ProfileEvaluation, ProfileState } from "../domain/loyalty/state.js";
import { compileModel, type CompiledModel } from "../domain/loyalty/model.js";
import type {
  AggregateBody,
  ExpressionBody,
  LoyaltyModel,
  ParamType,
  ScalarValue,
  SegmentationBody,
  TierProgramBody,
} from "../domain/loyalty/definitions.js";
import type { Membership } from "../domain/basket.js";
import type { Queryable, Tx } from "../store/db.js";
import {
  insertEvents,
  loadEvents,
  loadModelRows,
  lockStates,
  writeSaleProfile,
  writeStates,
  type EventRecord,
  type ModelRows,
  type StateRow,
  type StateWrite,
  type TierMove,
} from "../store/loyalty.js";

export interface LoadedModel {
  readonly version: number;
  readonly model: LoyaltyModel;
  readonly compiled: CompiledModel;
  /** No aggregates, segmentations or tier programs: profiles need no state. */
  readonly empty: boolean;
}

const models = new Map<string, LoadedModel>();
const MODELS_MAX = 1_000;

export function modelOf(rows: ModelRows): LoyaltyModel {
  const pick = <T>(kind: string) =>
    Object.fromEntries(rows.definitions.filter((d) => d.kind === kind).map((d) => [d.id, d.definition as T]));
  return {
    attributes: Object.fromEntries(rows.attributes.map((a) => [a.name, a.type])) as Record<string, ParamType>,
    eventTypes: Object.fromEntries(rows.eventTypes.map((e) => [e.name, e.params])),
    aggregates: pick<AggregateBody>("aggregate"),
    expressions: pick<ExpressionBody>("expression"),
    segmentations: pick<SegmentationBody>("segmentation"),
    tierPrograms: pick<TierProgramBody>("tierProgram"),
  };
}

/** The workspace's compiled model, cached per loyalty_version (pass the version when it is known). */
export async function loyaltyModel(
  q: Queryable,
  workspaceId: string,
  version?: number,
): Promise<LoadedModel> {
  const hit = models.get(workspaceId);
  if (hit !== undefined && version !== undefined && hit.version === version) return hit;
  const rows = await loadModelRows(q, workspaceId);
  if (rows === null) throw new Error(`workspace ${workspaceId} vanished`);
  if (hit !== undefined && hit.version === Number(rows.version)) return hit;
  const model = modelOf(rows);
  const loaded: LoadedModel = {
    version: Number(rows.version),
    model,
    compiled: compileModel(model),
    empty:
      Object.keys(model.aggregates).length === 0 &&
      Object.keys(model.segmentations).length === 0 &&
      Object.keys(model.tierPrograms).length === 0,
  };
  if (models.size >= MODELS_MAX) models.clear();
  models.set(workspaceId, loaded);
  return loaded;
}

/** What pricing read of a profile, and what it evaluated to at the basket's instant. */
export interface ProfileFacts {
  readonly customerId: string;
  readonly attributes: Readonly<Record<string, ScalarValue>>;
  /** The stored state, or the one rebuilt from events when the stored one was out of date. */
  readonly state: ProfileState;
  /** The stored row's version (0: none), for the optimistic write after a sale. */
  readonly version: number;
  /** The tiers as last stored, to record moves against. */
  readonly storedTiers: Readonly<Record<string, string>>;
  readonly evaluation: ProfileEvaluation;
}

/** A profile as pricing reads it (store/pricing.ts). */
export interface StoredProfile {
  readonly customerId: string;
  readonly attributes: Record<string, ScalarValue>;
  readonly state: ProfileState | null;
  readonly tiers: Record<string, string>;
  readonly version: number;
  /** False only when there is no state row and no event: the state is the empty one. */
  readonly hasEvents: boolean;
}

/** The profile of a customer pricing does not know yet (a sale creates it). */
export function newProfile(customerId: string): StoredProfile {
  return { customerId, attributes: {}, state: null, tiers: {}, version: 0, hasEvents: false };
}

/**
 * Evaluates a profile for pricing: its state as stored, rebuilt from its events if out of date (a
 * profile with neither state nor events starts from the empty state without reading anything).
 *
 * A rebuilt state is as good as a stored one for the sale's optimistic write: every transaction that
 * adds events to a profile also writes its state row (a sale, `foldLocked`), bumping its version. The
 * events read here were read after the version was, so if they hold one more than that version
 * reflects, the version has moved and the write (conditional on `version`) does not happen; the sale
 * then folds under lock.
 */
export async function evaluateForPricing(
  q: Queryable,
  workspaceId: string,
  loaded: LoadedModel,
  stored: StoredProfile,
  nowMs: number,
): Promise<ProfileFacts> {
  let state = stored.state ?? emptyState();
  if (!loaded.empty && !isCurrent(loaded.compiled, state)) {
    const events =
      stored.state === null && !stored.hasEvents
        ? []
        : ((await loadEvents(q, workspaceId, [stored.customerId])).get(stored.customerId) ?? []);
    state = rebuildState(loaded.compiled, events, nowMs);
  }
  return {
    customerId: stored.customerId,
    attributes: stored.attributes,
    state,
    version: stored.version,
    storedTiers: stored.tiers,
    evaluation: evaluateProfile(loaded.compiled, { attributes: stored.attributes, state }, nowMs),
  };
}

/**
 * The memberships and segments the engine sees: the tier programs' tiers replace what the profile
 * stores for those programs (a supplementary list stored with it is kept), other programs stay as
 * stored; computed segments join the assigned ones.
 */
export function effectiveCustomer(
  stored: { memberships: readonly Membership[]; segmentIds: readonly string[] },
  loaded: LoadedModel,
  evaluation: ProfileEvaluation,
): { memberships: Membership[]; segmentIds: string[] } {
  const programs = loaded.model.tierPrograms;
  const memberships = stored.memberships.filter((m) => programs[m.programId] === undefined);
  for (const [programId, tierId] of Object.entries(evaluation.tiers)) {
    if (tierId === null) continue;
    const kept = stored.memberships.find((m) => m.programId === programId)?.supplementaryIds;
    memberships.push({ programId, tierId, ...(kept !== undefined ? { supplementaryIds: kept } : {}) });
  }
  const segmentIds = [...new Set([...stored.segmentIds, ...evaluation.segmentIds])].sort();
  return { memberships, segmentIds };
}

/** Tiers as stored: members only. */
export function tiersOf(evaluation: ProfileEvaluation): Record<string, string> {
  const tiers: Record<string, string> = {};
  for (const [programId, tierId] of Object.entries(evaluation.tiers))
    if (tierId !== null) tiers[programId] = tierId;
  return tiers;
}

export function movesBetween(
  customerId: string,
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
  cause: string,
): TierMove[] {
  const moves: TierMove[] = [];
  for (const programId of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const fromTier = before[programId] ?? null;
    const toTier = after[programId] ?? null;
    if (fromTier !== toTier) moves.push({ customerId, programId, fromTier, toTier, cause });
  }
  return moves.sort((a, b) => (a.programId < b.programId ? -1 : 1));
}

/** How an operation's own events reach the customer's loyalty state (see planOwnEvents). */
export interface OwnEventsPlan {
  readonly customerId: string;
  readonly events: readonly EventRecord[];
  /** The new state, to write with the events if it is still at `readVersion`. */
  readonly profile: { write: StateWrite; readVersion: number; moves: TierMove[] } | null;
  /** The state cannot be folded optimistically (none read, or a referenced value moved). */
  readonly foldUnderLock: boolean;
}

/**
 * Folds an operation's events into the state pricing read, when it can: the write then goes with the
 * operation's own statement (a sale writes it with its rows), replacing only the version read.
 */
export function planOwnEvents(
  loaded: LoadedModel,
  profile: ProfileFacts | null,
  customerId: string,
  events: readonly EventRecord[],
  nowMs: number,
): OwnEventsPlan {
  if (loaded.empty || events.length === 0) return { customerId, events, profile: null, foldUnderLock: false };
  if (profile !== null) {
    const folded = foldEvents(loaded.compiled, profile.state, events, nowMs);
    if (!folded.rebuild) {
      const evaluation = evaluateProfile(
        loaded.compiled,
        { attributes: profile.attributes, state: folded.state },
        nowMs,
      );
      const tiers = tiersOf(evaluation);
      return {
        customerId,
        events,
        profile: {
          write: { customerId, state: folded.state, tiers, segmentIds: evaluation.segmentIds },
          readVersion: profile.version,
          moves: movesBetween(customerId, profile.storedTiers, tiers, events[0]!.id),
        },
        foldUnderLock: false,
      };
    }
  }
  return { customerId, events, profile: null, foldUnderLock: true };
}

/** After the events were inserted (and the planned state written, or not): fold under lock if needed. */
export async function finishOwnEvents(
  tx: Tx,
  workspaceId: string,
  loaded: LoadedModel,
  plan: OwnEventsPlan,
  written: boolean,
  nowMs: number,
): Promise<void> {
  // Not written: another writer moved the state since pricing read it; the events are in, so fold
  // them into the state as it is under lock.
  if (plan.foldUnderLock || (plan.profile !== null && !written))
    await foldLocked(tx, workspaceId, loaded, new Map([[plan.customerId, plan.events]]), nowMs);
}

/**
 * An operation's own events (a return, a wallet issue, a points burn), inside its transaction:
 * inserted, folded into the customer's state, tiers and segments evaluated and written with the
 * moves, in one statement when nobody else wrote the profile since it was read.
 */
export async function recordOwnEvents(
  tx: Tx,
  workspaceId: string,
  loaded: LoadedModel,
  profile: ProfileFacts | null,
  customerId: string,
  events: readonly EventRecord[],
  nowMs: number,
): Promise<void> {
  if (events.length === 0) return;
  const plan = planOwnEvents(loaded, profile, customerId, events, nowMs);
  let written = false;
  if (plan.profile !== null) {
    const { write, readVersion, moves } = plan.profile;
    written = await writeSaleProfile(tx, workspaceId, events, write, readVersion, moves, nowMs);
  } else {
    await insertEvents(tx, workspaceId, events, nowMs);
  }
  await finishOwnEvents(tx, workspaceId, loaded, plan, written, nowMs);
}

/**
 * Folds new events (already inserted) into the locked states of their customers; profiles whose
 * state is out of date, or whose referenced values moved (a late joining event), are rebuilt from all
 * their events. Answers the tier moves written.
 */
export async function foldLocked(
  tx: Tx,
  workspaceId: string,
  loaded: LoadedModel,
  byCustomer: ReadonlyMap<string, readonly EventRecord[]>,
  nowMs: number,
): Promise<TierMove[]> {
  if (byCustomer.size === 0 || loaded.empty) return [];
  const locked = await lockStates(tx, workspaceId, [...byCustomer.keys()], emptyState(), nowMs);
  const folded = new Map<string, ProfileState>();
  const stale: string[] = [];
  for (const [customerId, events] of byCustomer) {
    const row = locked.get(customerId)!;
    const state = row.state ?? emptyState();
    if (!isCurrent(loaded.compiled, state)) {
      stale.push(customerId);
      continue;
    }
    const result = foldEvents(loaded.compiled, state, events, nowMs);
    if (result.rebuild) stale.push(customerId);
    else folded.set(customerId, result.state);
  }
  if (stale.length > 0) {
    const history = await loadEvents(tx, workspaceId, stale);
    for (const customerId of stale)
      folded.set(customerId, rebuildState(loaded.compiled, history.get(customerId) ?? [], nowMs));
  }
  const writes: StateWrite[] = [];
  const moves: TierMove[] = [];
  for (const [customerId, state] of folded) {
    const row: StateRow = locked.get(customerId)!;
    const evaluation = evaluateProfile(loaded.compiled, { attributes: row.attributes, state }, nowMs);
    const tiers = tiersOf(evaluation);
    writes.push({ customerId, state, tiers, segmentIds: evaluation.segmentIds });
    const events = byCustomer.get(customerId)!;
    moves.push(...movesBetween(customerId, row.tiers, tiers, events[events.length - 1]!.id));
  }
  await writeStates(tx, workspaceId, writes, moves, nowMs);
  return moves;
}
