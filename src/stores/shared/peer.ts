import { BelfryError } from "../../errors.js";

/**
 * Imports a store's driver (an optional peer dependency: `pg`, `mysql2`, `ioredis`), or a module
 * that imports it; when the package is missing, says which one to install instead of Node's
 * `ERR_MODULE_NOT_FOUND`.
 *
 * @throws BelfryError `MISSING_DEPENDENCY` naming the package and the install command.
 */
export async function importPeer<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code === "ERR_MODULE_NOT_FOUND" && String(message).includes(`'${name}'`)) {
      throw new BelfryError(
        "MISSING_DEPENDENCY",
        `this store needs the ${name} package, which is not installed: run \`npm install ${name}\``,
        { cause: error },
      );
    }
    throw error;
  }
}
