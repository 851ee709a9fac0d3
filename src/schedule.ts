/**
 * Schedules (SPEC §8), the queue side: checks what `schedule()` takes,
 * computes occurrences (cron through croner, loaded on first use; `every`
 * by arithmetic), and makes the queue's schedule calls. Exactly-once is the
 * backend's: a due schedule fires by compare-and-set on its version, in the
 * same atomic step that enqueues its job, so two processes that see it due
 * at once make one job. Its only state is, per queue, the versions of the
 * stored schedules whose job this process could not make (reported once,
 * then passed over until they change); all else is the backend's.
 *
 * @module
 */

import type { ScheduleFire, ScheduleRecord } from "./backend/interface.ts";
import { type JobDefaults, prepareJob } from "./enqueue.ts";
import { ValidationError } from "./errors.ts";
import type { BackendHandle } from "./queue_handle.ts";
import type {
  QueueSchedules,
  Schedule,
  ScheduleJobOptions,
  ScheduleSpec,
} from "./schedule_types.ts";
import type { JsonValue } from "./types.ts";
import { checkName, checkNumber, invalid } from "./validate.ts";

/** A schedule's definition: what the backend stores as JSON text. */
interface Definition {
  cron?: string;
  tz?: string;
  every?: number;
  type: string;
  data: JsonValue;
  options: ScheduleJobOptions;
}

/** The enqueue options a schedule may give its jobs, in stored order. */
const OPTION_KEYS = [
  "priority",
  "ttl",
  "key",
  "metadata",
  "maxAttempts",
  "timeout",
  "removeOnComplete",
  "removeOnFail",
] as const;

const SPEC_KEYS = new Set(["cron", "tz", "every", "type", "data", "options"]);

/** What the calls need of the queue. */
export interface ScheduleContext<Tx> {
  name: string;
  clock: () => number;
  handle: BackendHandle<Tx>;
  defaults: JobDefaults;
}

/** Makes the schedule calls of a queue. */
export function scheduleCalls<Tx>(c: ScheduleContext<Tx>): QueueSchedules {
  const { name: queue, clock, handle } = c;
  const unmade = new Map<string, number>();
  return {
    async schedule<D>(name: string, spec: ScheduleSpec<D>) {
      const now = clock();
      const def = checkSchedule(name, spec, now, c.defaults);
      const nextRunAt = await firstRun(def, now);
      const record = await handle.call(
        "putSchedule",
        (b) =>
          b.putSchedule(queue, {
            name,
            definition: JSON.stringify(def),
            nextRunAt,
          }, { now }),
      );
      return toSchedule(record) as Schedule<D>;
    },
    unschedule(name) {
      checkName(name, "unschedule", "name");
      return handle.call(
        "removeSchedule",
        (b) => b.removeSchedule(queue, name, { now: clock() }),
      );
    },
    async schedules() {
      const records = await handle.call(
        "listSchedules",
        (b) => b.listSchedules(queue, { dueBy: null, now: clock() }),
      );
      return records.map(toSchedule);
    },
    runSchedules: (options) => runDue(c, unmade, options?.onError),
  };
}

/**
 * Fires every due schedule once: its job is due at the occurrence it stands
 * for (its `runAt`), and the schedule moves on to its first occurrence
 * after now, so missed occurrences collapse into this one job.
 *
 * A schedule that fails does not stop the others. One whose job this
 * process cannot make (its data over this queue's `maxPayloadBytes`, say:
 * another process, with other limits, may make it) is left as it is, due,
 * for the processes that can, and its version goes in `unmade`: it is
 * reported once and then passed over until it has another version (fired
 * elsewhere, or replaced). A failed fire (the store's error) is reported
 * at every look, as the store may answer the next. Each failure goes to
 * `onError`; without it, the first is thrown once the others have fired.
 * Only a failed read of the due schedules throws with `onError`.
 */
async function runDue<Tx>(
  c: ScheduleContext<Tx>,
  unmade: Map<string, number>,
  onError: ((error: unknown) => void) | undefined,
): Promise<number> {
  const { name: queue, clock, handle } = c;
  const now = clock();
  const due = await handle.call(
    "listSchedules",
    (b) => b.listSchedules(queue, { dueBy: now, now }),
  );
  const dueNow = new Map(due.map((r) => [r.name, r.version]));
  for (const [name, version] of unmade) {
    if (dueNow.get(name) !== version) unmade.delete(name); // changed or gone
  }
  let made = 0;
  const failures: unknown[] = [];
  for (const record of due) {
    if (unmade.get(record.name) === record.version) continue;
    let fire: ScheduleFire;
    try {
      fire = await fireOf(c, record, now);
    } catch (err) {
      unmade.set(record.name, record.version);
      failures.push(err);
      continue;
    }
    try {
      const outcome = await handle.call(
        "fireSchedule",
        (b) => b.fireSchedule(queue, fire, { now }),
      );
      if (outcome?.created) made++;
    } catch (err) {
      failures.push(err);
    }
  }
  if (onError !== undefined) failures.forEach((err) => onError(err));
  else if (failures.length > 0) throw failures[0];
  return made;
}

/**
 * What firing a due schedule asks of the backend: its job, due at the
 * occurrence, and its next occurrence. Throws when this process cannot
 * make them (a ValidationError is wrapped in one that names the schedule).
 */
async function fireOf<Tx>(
  c: ScheduleContext<Tx>,
  record: ScheduleRecord,
  now: number,
): Promise<ScheduleFire> {
  try {
    const def = JSON.parse(record.definition) as Definition;
    const job = prepareJob(def.type, def.data, def.options, now, c.defaults);
    job.runAt = record.nextRunAt;
    return {
      name: record.name,
      version: record.version,
      nextRunAt: await nextRun(def, record.nextRunAt, now),
      job,
    };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(
      `Cannot fire schedule '${record.name}' of queue '${c.name}' as its job cannot be made here: ${err.message}`,
      { cause: err },
    );
  }
}

/** The stored schedule as users see it. */
function toSchedule(record: ScheduleRecord): Schedule {
  const def = JSON.parse(record.definition) as Definition;
  const out: Schedule = {
    name: record.name,
    type: def.type,
    data: def.data,
    options: def.options,
    nextRunAt: record.nextRunAt,
  };
  if (def.cron !== undefined) out.cron = def.cron;
  if (def.tz !== undefined) out.tz = def.tz;
  if (def.every !== undefined) out.every = def.every;
  return out;
}

/**
 * Checks a schedule and makes its definition, in a fixed key order (so that
 * declaring it again as it is gives the same text). Its job is checked by
 * preparing one as enqueue would.
 */
function checkSchedule(
  name: unknown,
  spec: ScheduleSpec<unknown>,
  now: number,
  defaults: JobDefaults,
): Definition {
  const act = "schedule";
  checkName(name, act, "name");
  if (spec === null || typeof spec !== "object") {
    throw invalid(act, "spec", "an object", spec);
  }
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.has(key)) throw invalid(act, key, "not an option", key);
  }
  const { cron, tz, every, type, data = null, options = {} } = spec;
  if ((cron === undefined) === (every === undefined)) {
    throw new ValidationError(
      "Cannot schedule as it needs exactly one of 'cron' and 'every'",
    );
  }
  const def: Definition = { type: type, data: data as JsonValue, options: {} };
  if (cron !== undefined) {
    def.cron = checkCron(cron);
    if (tz !== undefined) def.tz = checkZone(tz);
  } else {
    if (tz !== undefined) {
      throw new ValidationError("Cannot schedule as 'tz' goes with 'cron'");
    }
    def.every = checkNumber(every, act, "every", { min: 1, integer: true });
  }
  if (options === null || typeof options !== "object") {
    throw invalid(act, "options", "an object", options);
  }
  const allowed: readonly string[] = OPTION_KEYS;
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw invalid(act, `options.${key}`, "not an option of a schedule", key);
    }
  }
  for (const key of OPTION_KEYS) {
    const value = options[key];
    if (value !== undefined) {
      (def.options as Record<string, unknown>)[key] = value;
    }
  }
  prepareJob(type, data, def.options, now, defaults); // throws what enqueue would
  return def;
}

/** A cron expression of 5 fields, or 6 with seconds first. */
function checkCron(cron: unknown): string {
  if (typeof cron !== "string") {
    throw invalid("schedule", "cron", "a cron expression (a string)", cron);
  }
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw invalid(
      "schedule",
      "cron",
      "5 fields (minute hour day month weekday), or 6 with seconds first",
      cron,
    );
  }
  return fields.join(" ");
}

/** An IANA time zone this runtime knows. */
function checkZone(tz: unknown): string {
  try {
    if (typeof tz !== "string" || tz === "") throw new RangeError();
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return tz;
  } catch {
    throw invalid("schedule", "tz", "an IANA time zone (Europe/Paris)", tz);
  }
}

/** The first occurrence of a new schedule: after now. */
function firstRun(def: Definition, now: number): Promise<number> {
  return def.every !== undefined
    ? Promise.resolve(now + def.every)
    : cronAfter(def, now);
}

/**
 * The occurrence after `now` of a schedule that was due at `due`: `every`
 * keeps its cadence (due + k × every), cron asks croner.
 */
function nextRun(def: Definition, due: number, now: number): Promise<number> {
  if (def.every === undefined) return cronAfter(def, now);
  const steps = Math.floor(Math.max(0, now - due) / def.every) + 1;
  return Promise.resolve(due + steps * def.every);
}

type CronClass = typeof import("croner").Cron;
let croner: Promise<CronClass> | undefined;
const patterns = new Map<string, InstanceType<CronClass>>();

/**
 * The first occurrence of a cron schedule strictly after `after`. A
 * wall-clock time that happens twice (autumn) runs at its first pass only,
 * unless the hour field is `*`: then the second pass is just the next hour,
 * run as such.
 */
async function cronAfter(def: Definition, after: number): Promise<number> {
  croner ??= import("croner").then((m) => m.Cron);
  const Cron = await croner;
  const tz = def.tz ?? "UTC";
  const id = `${tz} ${def.cron}`;
  let pattern = patterns.get(id);
  if (pattern === undefined) {
    try {
      pattern = new Cron(def.cron!, { timezone: tz, mode: "5-or-6-parts" });
    } catch (err) {
      throw new ValidationError(
        `Cannot schedule as 'cron' must be a valid cron expression: ${
          err instanceof Error ? err.message : String(err)
        }`,
        { cause: err },
      );
    }
    if (patterns.size >= 256) patterns.clear();
    patterns.set(id, pattern);
  }
  const fields = def.cron!.split(" ");
  const everyHour = fields[fields.length - 4] === "*";
  let from = after;
  for (;;) {
    const next = pattern.nextRun(new Date(from));
    if (next === null) {
      throw new ValidationError(
        `Cannot schedule as cron '${def.cron}' has no occurrence after ${
          new Date(after).toISOString()
        }`,
      );
    }
    if (everyHour || !repeated(tz, next.getTime())) return next.getTime();
    from = next.getTime(); // the second pass of a repeated time: skip it
  }
}

/** The longest a clock is set back in any zone, with room to spare. */
const MAX_SET_BACK_MS = 6 * 3_600_000;

/**
 * Whether the wall-clock time at `at` in zone `tz` already happened earlier
 * that night: `at` falls in the hour (or so) that a clock set back in
 * autumn runs twice, on its second pass. croner returns both passes for an
 * hour given as a list, range or step, but the schedule runs such a time
 * once, at its first pass.
 */
function repeated(tz: string, at: number): boolean {
  const back = offsetAt(tz, at - MAX_SET_BACK_MS) - offsetAt(tz, at);
  return back > 0 && offsetAt(tz, at - back) - offsetAt(tz, at) === back;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The offset of zone `tz` from UTC at `at`, in ms (+3,600,000 for CET). */
function offsetAt(tz: string, at: number): number {
  let format = zoneFormats.get(tz);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    if (zoneFormats.size >= 256) zoneFormats.clear();
    zoneFormats.set(tz, format);
  }
  const part: Record<string, number> = {};
  for (const p of format.formatToParts(at)) part[p.type] = Number(p.value);
  const wall = Date.UTC(
    part.year!,
    part.month! - 1,
    part.day!,
    part.hour! % 24,
    part.minute!,
    part.second!,
  );
  return wall - (at - (((at % 1000) + 1000) % 1000));
}
