/**
 * How bin/recipe.js starts the CLI: the single-file build (dist/recipe-cli.js,
 * written by scripts/bundle-cli.js) compiled with a V8 code cache, or tsc's
 * dist/cli/main.js when there is no single file (a build of tsc alone).
 *
 * The code cache is taken after a command has finished, so it holds the
 * bytecode of every function that command compiled, not only the top-level
 * code. One cache per command, and one for help pages and `--version`: a
 * cache written by `recipe show` or `recipe apply --help` would leave most of
 * `recipe apply` to compile, and V8 would keep accepting it. Without any
 * cache V8 parses the whole single file, which costs a help page more than
 * the few modules it used to load. Each file's name holds a hash of the
 * single file and of the Node, V8, architecture and flags it was made for, so
 * a cache of another build is never even offered to V8. Nothing about the cache is ever
 * printed or changes the exit code: without it the CLI only starts slower.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Module, createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { CODE_DIR } from '../package-root';

/** What bin/recipe.js calls: the exports of src/cli/main.ts it uses. */
interface CliEntry {
  main(argv: readonly string[]): Promise<number>;
}

/** The single-file CLI; it must stay in dist/ itself (see src/package-root.ts). */
export const SINGLE_FILE_CLI = path.join(CODE_DIR, 'recipe-cli.js');

/** Cache files kept in the cache folder, the most recently written first: a few builds' worth of commands. */
export const MAX_CACHE_FILES = 16;

const CACHE_SUFFIX = '.v8cache';
/** A cache file is the sha256 of the V8 data, then the data. */
const DIGEST_BYTES = 32;

/** Runs the CLI with `argv` and returns its exit code. */
export async function startCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, file: string = SINGLE_FILE_CLI): Promise<number> {
  let source: Buffer;
  try {
    source = fs.readFileSync(file);
  } catch {
    const { main } = await import('./main');
    return main(argv);
  }
  const cacheFile = codeCacheFile(argv, source, env);
  const cached = cacheFile === undefined ? undefined : readCodeCache(cacheFile);
  const { cli, script } = loadSingleFile(file, source.toString('utf8'), cached);
  const code = await cli.main(argv);
  // A failed run stopped early, having compiled less than the command does:
  // its cache would stay, as V8 accepts it, and slow every later run.
  if (cacheFile !== undefined && (cached === undefined || script.cachedDataRejected) && code === 0) {
    writeCodeCache(cacheFile, script);
  }
  return code;
}

/**
 * Compiles the single file as Node compiles a CommonJS module (the same
 * wrapper and arguments; `require` resolves from the file's folder and its
 * `require.main` is bin/recipe.js) and runs it.
 */
function loadSingleFile(file: string, source: string, cachedData: Buffer | undefined): { cli: CliEntry; script: vm.Script } {
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const requireFromFile = createRequire(file);
  // esbuild's output uses `module` for its exports only (no module.require or
  // module.paths), and the code reads no `require.main`.
  const mod = new Module(file);
  mod.filename = file;
  const moduleFunction = script.runInThisContext() as (...args: unknown[]) => void;
  moduleFunction.call(mod.exports, mod.exports, requireFromFile, mod, file, path.dirname(file));
  mod.loaded = true;
  return { cli: mod.exports as CliEntry, script };
}

/**
 * Whose cache a run uses: `help` for help pages and `--version` (as
 * src/cli/main.ts reads them: `--help` or `-h` anywhere, or an option before
 * any command), else the command's; none without arguments.
 */
function cacheNameOf(argv: readonly string[]): string | undefined {
  const [first] = argv;
  if (first === undefined) return undefined;
  if (first.startsWith('-') || argv.includes('--help') || argv.includes('-h')) return 'help';
  return /^[a-z][a-z-]{0,31}$/.test(first) ? first : undefined;
}

/**
 * The cache file of this run: one per command (see cacheNameOf) and build of
 * the CLI, or none when caching is off (RECIPE_NO_CODE_CACHE).
 */
export function codeCacheFile(argv: readonly string[], source: Buffer, env: NodeJS.ProcessEnv): string | undefined {
  if (env.RECIPE_NO_CODE_CACHE && env.RECIPE_NO_CODE_CACHE !== '0') return undefined;
  const name = cacheNameOf(argv);
  if (name === undefined) return undefined;
  const build = createHash('sha256')
    .update(source)
    // V8 checks the source's length, not its text, so the text's hash is what
    // keeps another build's cache out. V8 would reject a cache of another
    // version or flags itself, but two Nodes (or flag sets) sharing one file
    // would then rewrite it at every switch. CPU features it checks alone.
    .update(JSON.stringify([process.version, process.versions.v8, process.arch, process.platform, process.execArgv, env.NODE_OPTIONS ?? '']))
    .digest('hex')
    .slice(0, 16);
  return path.join(codeCacheDir(env), `${name}-${build}${CACHE_SUFFIX}`);
}

/** RECIPE_CODE_CACHE_DIR, else `$XDG_CACHE_HOME/recipe`, else `~/.cache/recipe`, else a folder of this user's in the temp folder. */
export function codeCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.RECIPE_CODE_CACHE_DIR) return path.resolve(env.RECIPE_CODE_CACHE_DIR);
  // The XDG base directory spec: a relative path is invalid and ignored.
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'recipe');
  let home = '';
  try {
    home = os.homedir();
  } catch {
    // No home folder (a user without a passwd entry): the temp folder below.
  }
  if (home) return path.join(home, '.cache', 'recipe');
  return path.join(os.tmpdir(), `recipe-code-cache-${process.getuid?.() ?? 'user'}`);
}

/**
 * The V8 data of a cache file, when the file is there, whole, and written by
 * this user. V8 checks a cache's header but not its contents (Node 20 crashes
 * on flipped bytes in the body), so the file carries its own checksum; and
 * bytecode from a file someone else could write would be code run as this user.
 */
export function readCodeCache(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    // Without O_NONBLOCK, opening a FIFO put in the cache file's place waits
    // for a writer, forever; a regular file opens as usual.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const stat = fs.fstatSync(fd);
    // A FIFO or a device is no cache file, and reading one may never end.
    if (!stat.isFile()) return undefined;
    const uid = process.getuid?.();
    if (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o022) !== 0)) return undefined;
    const bytes = fs.readFileSync(fd);
    if (bytes.length <= DIGEST_BYTES) return undefined;
    const data = bytes.subarray(DIGEST_BYTES);
    return createHash('sha256').update(data).digest().equals(bytes.subarray(0, DIGEST_BYTES)) ? data : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes the code cache of everything `script` has compiled so far: to a
 * file of its own, renamed over `file`, so that a run reading the cache at the
 * same time finds the old file or the new one, never half of one. Then trims
 * the folder to MAX_CACHE_FILES. Fails silently.
 */
export function writeCodeCache(file: string, script: vm.Script): void {
  const temp = `${file}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const data = script.createCachedData();
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': never follow a link someone put at the temporary name.
    fs.writeFileSync(temp, Buffer.concat([createHash('sha256').update(data).digest(), data]), { flag: 'wx', mode: 0o600 });
    fs.renameSync(temp, file);
    pruneCodeCaches(path.dirname(file));
  } catch {
    try {
      fs.rmSync(temp, { force: true });
    } catch {
      // Nothing more to do: the cache is only ever an optimisation.
    }
  }
}

/**
 * Keeps the MAX_CACHE_FILES most recently written cache files (temporary
 * ones of runs that died before their rename included) and removes the rest:
 * every build leaves caches under new names.
 */
function pruneCodeCaches(dir: string): void {
  const ours = fs.readdirSync(dir).filter((name) => name.endsWith(CACHE_SUFFIX) || /\.v8cache\.[^/]+\.tmp$/.test(name));
  if (ours.length <= MAX_CACHE_FILES) return;
  const byAge = ours
    .map((name) => {
      try {
        return { name, mtime: fs.statSync(path.join(dir, name)).mtimeMs };
      } catch {
        return undefined;
      }
    })
    .filter((f) => f !== undefined)
    .sort((a, b) => b.mtime - a.mtime);
  for (const stale of byAge.slice(MAX_CACHE_FILES)) fs.rmSync(path.join(dir, stale.name), { force: true });
}
