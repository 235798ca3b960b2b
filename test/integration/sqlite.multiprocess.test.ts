import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeMultiProcess } from "./multiprocess.js";

const folder = mkdtempSync(join(tmpdir(), "belfry-mp-"));
describeMultiProcess("sqlite", (label) => `sqlite:${join(folder, `${label}.db`)}`);
