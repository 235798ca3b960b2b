import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll } from "vitest";
import { dropPrefixed } from "./harness/cleanup.js";
import { describeMultiProcess } from "./harness/multiprocess.js";

// All stores in one file so their replica processes never compete with each other for the
// machine's cores (vitest runs files in parallel, tests in a file one after another).
const POSTGRES = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL = process.env.BELFRY_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const REDIS = process.env.BELFRY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const run = `mp${randomBytes(3).toString("hex")}`;
const withPrefix = (url: string, label: string) =>
  `${url}${url.includes("?") ? "&" : "?"}prefix=${run}_${label}_`;

const folder = mkdtempSync(join(tmpdir(), "belfry-mp-"));
describeMultiProcess("sqlite", (label) => `sqlite:${join(folder, `${label}.db`)}`);
describeMultiProcess("postgres", (label) => withPrefix(POSTGRES, label));
describeMultiProcess("mysql (MariaDB)", (label) => withPrefix(MYSQL, label));
describeMultiProcess("redis", (label) => withPrefix(REDIS, label));

afterAll(() => dropPrefixed({ postgres: POSTGRES, mysql: MYSQL, redis: REDIS }, run));
