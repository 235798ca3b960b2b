import { describe, expect, it } from "vitest";
import {
  buildHistoryQuery,
  renderSql,
  runUpdateSql,
  runUpdateValues,
  splitSqlStatements,
} from "../../src/stores/sql/shared.js";
import type { RunRecord } from "../../src/stores/store.js";

describe("sql/shared.buildHistoryQuery", () => {
  it("builds filters in placeholder order with ? by default and $n for PostgreSQL", () => {
    const query = { jobId: "a", states: ["missed", "failed"] as const, from: 1, to: 9, limit: 5 };
    expect(buildHistoryQuery(query)).toEqual({
      sql: "WHERE job_id = ? AND state IN (?, ?) AND scheduled_at >= ? AND scheduled_at < ? ORDER BY scheduled_at DESC, run_id DESC LIMIT ?",
      params: ["a", "missed", "failed", 1, 9, 5],
    });
    expect(buildHistoryQuery({ states: [] }, (n) => `$${n}`)).toEqual({
      sql: "WHERE 1 = 0 ORDER BY scheduled_at DESC, run_id DESC LIMIT $1",
      params: [100],
    });
  });
});

describe("sql/shared statements", () => {
  it("renderSql substitutes a valid prefix and refuses anything else", () => {
    expect(renderSql("CREATE TABLE {{prefix}}jobs ({{prefix}}x)", "app_", "t")).toBe(
      "CREATE TABLE app_jobs (app_x)",
    );
    expect(() => renderSql("{{prefix}}jobs", "a;drop", "t")).toThrow(/not allowed/);
  });

  it("splitSqlStatements splits at ; ending a line and drops comment lines", () => {
    expect(
      splitSqlStatements("-- c\nCREATE TABLE a (x INT);\n\nCREATE INDEX i ON a (x);\n"),
    ).toEqual(["CREATE TABLE a (x INT)", "CREATE INDEX i ON a (x)"]);
  });

  it("runUpdateSql is fenced by run id and the token read before", () => {
    const sql = runUpdateSql("t_runs", (n) => `$${n}`);
    expect(sql).toMatch(
      /^UPDATE t_runs SET scheduled_at = \$1, .* error = \$11 WHERE run_id = \$12 AND token = \$13$/,
    );
    const run = { runId: "r", jobId: "j", scheduledAt: 5, token: 3 } as RunRecord;
    const values = runUpdateValues(run, 2);
    expect(values.slice(-2)).toEqual(["r", 2]);
    expect(values).toHaveLength(13);
  });
});
