// `till loyalty recompute`: every profile's state rebuilt from its events under the current model,
// against DATABASE_URL or the embedded database, like `till import promotions`. Progress goes to stderr
// (a bar on a terminal, plain lines otherwise); the summary line to stdout.
import { SingleBar, Presets } from "cli-progress";
import { migrate } from "../store/migrate.js";
import { listWorkspaceIds } from "../store/promotion-imports.js";
import { startRecompute, type Recompute, type RecomputeProgress } from "../services/loyalty-recompute.js";
import { Problem } from "../services/problem.js";
import { CliError, openDatabase } from "./serve-command.js";

export interface RecomputeCommandOptions {
  readonly dataDir: string;
  readonly workspace?: string;
}

/** Runs the recompute to its end and prints one summary line; answers the exit code. */
export async function runRecomputeCommand(options: RecomputeCommandOptions): Promise<number> {
  // The job's writer, two snapshot readers and a connection for the profiles rebuilt under lock.
  const database = await openDatabase(options.dataDir, 4);
  try {
    await migrate(database.db);
    const workspaceId = await chooseWorkspace(await listWorkspaceIds(database.db), options.workspace);
    const progress = startProgress();
    const started = performance.now();
    let job: Recompute;
    try {
      job = await startRecompute(database.db, workspaceId, Date.now, {
        wait: true,
        onProgress: progress.update,
      });
    } catch (error) {
      if (error instanceof Problem) throw new CliError(error.detail ?? error.title);
      throw error;
    } finally {
      progress.stop();
    }
    console.log(summary(job, (performance.now() - started) / 1_000));
    return 0;
  } finally {
    await database.close();
  }
}

function chooseWorkspace(ids: readonly string[], wanted: string | undefined): string {
  if (wanted !== undefined) {
    if (!ids.includes(wanted)) throw new CliError(`workspace ${wanted} does not exist`);
    return wanted;
  }
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) throw new CliError("the database has no workspace yet: run `till serve` once");
  throw new CliError(
    `the database has ${ids.length} workspaces; choose one with --workspace (${ids.join(", ")})`,
  );
}

function summary(job: Recompute, seconds: number): string {
  const n = (x: number) => x.toLocaleString("en");
  return `recomputed ${n(job.profilesDone)} of ${n(job.profilesTotal)} profiles from ${n(job.eventsRead)} events in ${seconds.toFixed(1)} s: ${n(job.moves)} tier moves (recompute ${job.id})`;
}

interface Progress {
  update(progress: RecomputeProgress): void;
  stop(): void;
}

function startProgress(): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: "{phase} [{bar}] {percentage}% | {value}/{total} profiles | {events} events | {eta}s left",
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update: (p) => {
        const payload = { phase: p.phase.padEnd(7), events: p.eventsRead.toLocaleString("en") };
        if (!started) bar.start(p.profilesTotal, p.profilesDone, payload);
        else bar.update(p.profilesDone, payload);
        started = true;
      },
      stop: () => bar.stop(),
    };
  }
  let last = -1;
  return {
    update: (p) => {
      // One line per tenth at most: a log, not a stream.
      const tenth = p.profilesTotal === 0 ? 10 : Math.floor((10 * p.profilesDone) / p.profilesTotal);
      if (tenth === last) return;
      last = tenth;
      console.error(
        `recompute: ${p.phase}, ${p.profilesDone}/${p.profilesTotal} profiles, ${p.eventsRead} events`,
      );
    },
    stop: () => undefined,
  };
}
