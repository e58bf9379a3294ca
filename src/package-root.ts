import * as path from 'node:path';

/**
 * The folder the code runs from: `src/` under ts-jest, `dist/` when compiled
 * by tsc, and `dist/` again inside the single-file CLI (dist/recipe-cli.js),
 * where every module shares the one file's `__dirname`. That is why
 * scripts/bundle-cli.js writes the single file into dist/ and why this module
 * sits at the top of src/: the folder is the same whichever way it was built.
 */
export const CODE_DIR = __dirname;

/** The package's root folder, where package.json, `recipes/` and `schema/` are. */
export const PACKAGE_ROOT = path.dirname(CODE_DIR);
