import { describe, expect, it } from "vitest";
import { main } from "../../examples/dashboard.js";

describe("examples/dashboard", () => {
  it("serves the dashboard under /belfry beside the app's routes", async () => {
    const { url, stop } = await main();
    try {
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("cron 0 3 * * * (Europe/Berlin)");
      const health = await fetch(new URL("health", url));
      expect(await health.json()).toMatchObject({ ok: true, storeReachable: true, jobs: 1 });
      expect(await (await fetch(new URL("/", url))).text()).toBe("the app's own routes");
      expect((await fetch(new URL("/elsewhere", url))).status).toBe(404);
      expect((await fetch(new URL("/belfry/nope", url))).status).toBe(404);
    } finally {
      await stop();
    }
  });
});
