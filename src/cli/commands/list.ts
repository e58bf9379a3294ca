import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecipeErrors } from '../../errors';
import type { Bundle } from '../../recipe/bundle';
import { flagBool } from '../args';
import type { Command } from '../command';
import { EXIT } from '../exit-codes';
import { printRecipeErrors, registerBuiltinActions } from './check';

export const listCommand: Command = {
  name: 'list',
  usage: 'recipe list [<recipe.yaml|pack|bundle>...] [--json]',
  summary:
    'List what recipes do. Without arguments: the built-in target bundles and packs,\n' +
    'with their versions and rule counts. With recipe files or pack names: every rule\n' +
    'of the bundle they make, in the order it runs, with its formats, targets and\n' +
    'description, and whether a later file turned it off.',
  flags: [{ name: 'json', help: 'print the list as JSON' }],
  async run(args, io) {
    const json = flagBool(args, 'json');
    const [{ loadBundle, PACKS_DIR }, { stringify }] = await Promise.all([import('../../recipe/bundle'), import('yaml'), registerBuiltinActions()]);
    // YAML flow text, as --override takes it: {dims: {height: 224}}.
    const flowYaml = (value: unknown): string => stringify(value, { collectionStyle: 'flow', flowCollectionPadding: false }).trim();
    const load = (entries: string[]): Bundle | undefined => {
      try {
        return loadBundle(entries);
      } catch (e) {
        if (e instanceof RecipeErrors) {
          printRecipeErrors(e, io);
          return undefined;
        }
        throw e;
      }
    };

    if (args.positionals.length === 0) {
      // Target bundles are the .yaml files at the top; packs are the folders.
      const entries = fs.readdirSync(PACKS_DIR, { withFileTypes: true }).sort((a, b) => Number(a.isDirectory()) - Number(b.isDirectory()) || a.name.localeCompare(b.name));
      // `rules`: the rules on by default; `off`: the ones a bundle turns on when it needs them.
      const rows: { kind: 'bundle' | 'pack'; name: string; recipes: { name: string; version: string | null; description: string | null }[]; rules: number; off: number }[] = [];
      for (const e of entries) {
        const isBundle = e.isFile() && e.name.endsWith('.yaml');
        if (!isBundle && !e.isDirectory()) continue;
        const bundle = load([isBundle ? path.join(PACKS_DIR, e.name) : e.name]);
        if (!bundle) return EXIT.invalidRecipe;
        // A bundle lists the file itself; a pack, its recipe files.
        const own = isBundle ? bundle.recipes.filter((r) => path.resolve(r.file) === path.join(PACKS_DIR, e.name)) : bundle.recipes;
        rows.push({
          kind: isBundle ? 'bundle' : 'pack',
          name: isBundle ? e.name.slice(0, -'.yaml'.length) : e.name,
          recipes: own.map((r) => ({ name: r.name, version: r.version ?? null, description: r.description ? firstSentence(r.description) : null })),
          rules: bundle.rules.filter((r) => r.enabled).length,
          off: bundle.rules.filter((r) => !r.enabled).length,
        });
      }
      if (json) {
        io.out(JSON.stringify(rows, null, 2) + '\n');
        return EXIT.ok;
      }
      const width = Math.max(...rows.map((r) => r.name.length)) + 2;
      const counts = rows.map((r) => `${String(r.rules).padStart(3)} rule(s)${r.off > 0 ? ` (+${r.off} off)` : ''}`);
      const countWidth = Math.max(...counts.map((c) => c.length)) + 2;
      rows.forEach((r, k) => {
        const what = r.recipes.map((x) => `${x.name}${x.version ? ` ${x.version}` : ''}${x.description ? `: ${x.description}` : ''}`).join('; ');
        io.out(`${r.kind.padEnd(7)}${r.name.padEnd(width)}${counts[k]!.padEnd(countWidth)}${what}\n`);
      });
      io.out("\n'recipe list <pack|bundle>' lists the rules of one; 'recipe apply <bundle> <model> -o <out>' applies it.\n");
      return EXIT.ok;
    }

    const bundle = load(args.positionals);
    if (!bundle) return EXIT.invalidRecipe;
    const rules = bundle.rules.map((r) => ({
      id: r.id,
      recipe: r.recipe.name,
      kind: r.action !== undefined ? `action ${r.action}` : 'pattern',
      enabled: r.enabled,
      formats: r.formats ?? null,
      targets: r.targets ?? null,
      // What --override (or a file's overrides:) can set: a pattern rule's options, an action's parameters.
      options: r.action !== undefined ? r.params : r.options,
      description: r.description ? firstSentence(r.description) : null,
    }));
    const forTarget = bundle.declaredTargets.map((d) => d.target);
    if (json) {
      io.out(JSON.stringify({ recipes: bundle.recipes.map((r) => ({ name: r.name, version: r.version ?? null, file: r.file })), for: forTarget, targets: [...bundle.targets], rules }, null, 2) + '\n');
      return EXIT.ok;
    }
    io.out(`${bundle.recipes.map((r) => `${r.name}${r.version ? ` ${r.version}` : ''}`).join(', ')}\n`);
    if (forTarget.length) io.out(`for target: ${forTarget.join(', ')} (apply rewrites for ${forTarget.length === 1 ? 'it' : 'the one --target names'})\n`);
    io.out(`targets: ${[...bundle.targets].join(', ')}\n\n`);
    const idWidth = Math.max(4, ...rules.map((r) => r.id.length)) + 2;
    const formatWidth = Math.max(7, ...rules.map((r) => (r.formats?.join(',') ?? 'all').length)) + 2;
    io.out(`${'rule'.padEnd(idWidth)}${'formats'.padEnd(formatWidth)}description\n`);
    const settable = rules.some((r) => Object.keys(r.options).length > 0);
    for (const r of rules) {
      const options = Object.keys(r.options).length ? `options ${flowYaml(r.options)}` : '';
      const notes = [r.kind !== 'pattern' ? r.kind : '', options, r.targets ? `targets ${r.targets.join(',')}` : '', r.enabled ? '' : 'off'].filter(Boolean).join('; ');
      io.out(`${r.id.padEnd(idWidth)}${(r.formats?.join(',') ?? 'all').padEnd(formatWidth)}${r.description ?? ''}${notes ? ` (${notes})` : ''}\n`);
    }
    if (settable) io.out("\nOptions change on apply with --override 'RULE={options: {...}}', or under overrides: in a bundle file.\n");
    return EXIT.ok;
  },
};

/** The first sentence of a description, on one line. */
function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/\.(\s|$)/);
  return end < 0 ? flat : flat.slice(0, end + 1);
}
