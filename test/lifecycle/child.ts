import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** A TypeScript program running in a child Node process (`node --import tsx`). */
export interface ChildProgram {
  readonly kill: (signal: NodeJS.Signals) => void;
  /** Settles with the exit code or the signal that ended the process. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Lines written to stdout so far. */
  lines(): string[];
  stderr(): string;
  /** Resolves once `test` holds for the stdout lines (the test's timeout bounds the wait). */
  waitFor(test: (lines: string[]) => boolean): Promise<void>;
}

/** Starts `file` in a child process in `cwd`, with `env` added to this process's environment. */
export function runProgram(
  file: string,
  cwd: string,
  env: Record<string, string> = {},
): ChildProgram {
  const child = spawn(process.execPath, ["--import", TSX, file], {
    cwd,
    env: { ...process.env, ...env },
    stdio: "pipe",
  });
  let stdout = "";
  let stderr = "";
  const waiters: (() => void)[] = [];
  const lines = () => stdout.split("\n").filter((line) => line !== "");
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal });
    }),
  );
  return {
    kill: (signal) => void child.kill(signal),
    exited,
    lines,
    stderr: () => stderr,
    async waitFor(test) {
      while (!test(lines())) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`the child exited before the condition held; stderr:\n${stderr}`);
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}
