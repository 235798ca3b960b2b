// The load parts of `node bench/run.mjs`: burst, lag, skew, idle, schedule maths and runtime
// schedules. Each module exports `run(options)` and `markdown(results)`; options left undefined
// keep each part's default.
import * as burst from "./burst.mjs";
import * as idle from "./idle.mjs";
import * as lag from "./lag.mjs";
import * as math from "./math.mjs";
import * as schedules from "./schedules.mjs";
import * as skew from "./skew.mjs";

const MODULES = { burst, lag, skew, idle, math, schedules };

/** Part names, in the order `run.mjs` runs them. */
export const PARTS = Object.keys(MODULES);

/** Runs one part; resolves to its raw results and its Markdown lines. */
export async function run(part, options) {
  const given = Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined && v !== false && !Number.isNaN(v)),
  );
  const results = await MODULES[part].run(given);
  return { results, lines: MODULES[part].markdown(results, given.reps ?? 3) };
}
