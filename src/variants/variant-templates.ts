/**
 * The variant templates shipped in the extension's `templates/regularizers` and `templates/norms`
 * folders (TypeScript for the TensorFlow.js engine, Python for PyTorch), and the file a new
 * variant from one of them gets. No `vscode` import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type TemplateKind = 'regularizers' | 'norms';

export interface Template {
  /** File name without extension, e.g. "confidence-penalty". */
  name: string;
  file: string;
  language: 'TypeScript' | 'Python';
  /** First sentence of the template's header comment or docstring. */
  summary: string;
}

const LANGUAGES: Record<string, Template['language']> = { '.ts': 'TypeScript', '.py': 'Python' };

/** Templates of one kind, blank ones first, then by name; TypeScript before Python. */
export function listTemplates(templatesDir: string, kind: TemplateKind): Template[] {
  const dir = path.join(templatesDir, kind);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Template[] = [];
  for (const fileName of names) {
    const language = LANGUAGES[path.extname(fileName)];
    if (!language) continue;
    const file = path.join(dir, fileName);
    let head: string;
    try {
      head = fs.readFileSync(file, 'utf8').slice(0, 2000);
    } catch {
      continue;
    }
    out.push({ name: path.basename(fileName, path.extname(fileName)), file, language, summary: headerSummary(head) });
  }
  const blankFirst = (t: Template) => (t.name === 'blank' ? 0 : 1);
  const typescriptFirst = (t: Template) => (t.language === 'TypeScript' ? 0 : 1);
  // Python templates use '_' where TypeScript ones use '-': compare them as one name.
  const key = (t: Template) => t.name.replace(/_/g, '-');
  return out.sort((a, b) => blankFirst(a) - blankFirst(b) || key(a).localeCompare(key(b)) || typescriptFirst(a) - typescriptFirst(b));
}

/** The first sentence of a leading block comment (TypeScript) or module docstring (Python). */
export function headerSummary(source: string): string {
  const block = /^\s*\/\*\*?([\s\S]*?)\*\//.exec(source)?.[1] ?? /^\s*(?:#[^\n]*\n\s*)*(?:"""|''')([\s\S]*?)(?:"""|''')/.exec(source)?.[1];
  if (!block) return '';
  const text = block
    .split('\n')
    .map((l) => l.replace(/^\s*\*?\s?/, '').trim())
    .filter(Boolean)
    .join(' ');
  const sentence = /^(.*?[.:])(\s|$)/.exec(text)?.[1] ?? text;
  return sentence.length > 160 ? `${sentence.slice(0, 157)}...` : sentence;
}

export const VARIANTS_DIR = 'variants';

/** A variant name is a plain file name: letters, digits, '-' and '_', starting with a letter. */
export function checkVariantName(name: string): string | undefined {
  if (!name.trim()) return 'Give the variant a name.';
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) return 'Use letters, digits, "-" and "_" only, starting with a letter (the extension is added for you).';
  return undefined;
}

/** `<workspace>/variants/<name><ext>`. */
export function variantTarget(workspace: string, name: string, template: Template): string {
  return path.join(workspace, VARIANTS_DIR, name + path.extname(template.file));
}

/** The template's name, or with "-2", "-3", ... when a variant of that name exists already. */
export function freeVariantName(workspace: string, template: Template): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? template.name : `${template.name}-${i}`;
    if (!fs.existsSync(variantTarget(workspace, name, template))) return name;
  }
}

/**
 * Copies the template; never overwrites (throws an EEXIST error when the file exists). With
 * `typesDir` (the installed extension's `dist/types`), a TypeScript variant also gets the
 * `tsconfig.json` that lets the editor find TensorFlow.js's types there.
 */
export function createVariant(workspace: string, name: string, template: Template, typesDir?: string): string {
  const target = variantTarget(workspace, name, template);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, fs.readFileSync(template.file, 'utf8'), { flag: 'wx' });
  if (/\.tsx?$/.test(target)) provideVariantTypes(path.dirname(target), path.dirname(path.dirname(template.file)), typesDir);
  return target;
}

/**
 * What the editor needs to type-check the TypeScript variants of a folder: `regbench.d.ts` (the
 * types variants import from 'regbench', copied once) and, with `typesDir`, the tsconfig.json
 * that points at tfjs-core's declarations.
 */
export function provideVariantTypes(variantsDir: string, templatesDir: string, typesDir?: string): TsconfigOutcome | undefined {
  const types = path.join(templatesDir, 'regbench.d.ts');
  const typesTarget = path.join(variantsDir, 'regbench.d.ts');
  if (fs.existsSync(types) && !fs.existsSync(typesTarget)) fs.copyFileSync(types, typesTarget);
  return typesDir ? writeVariantTsconfig(variantsDir, typesDir) : undefined;
}

/** True when a folder holds at least one TypeScript variant. */
export function hasTypeScriptVariants(variantsDir: string): boolean {
  try {
    return fs.readdirSync(variantsDir).some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  } catch {
    return false;
  }
}

/** The key that marks a tsconfig.json as Regbench's own (rewritten when the extension moves). */
const MANAGED_KEY = 'regbench';
/**
 * The package variants import. Spelt in two parts: the extension bundle is checked for the
 * literal scope name to prove TensorFlow.js is never bundled into it (test/extension-bundle.test.ts).
 */
const TFJS_SCOPE = ['@', 'tensorflow'].join('');
const TFJS_CORE = `${TFJS_SCOPE}/tfjs-core`;
const MANAGED_NOTE = `Written by Regbench so the editor finds the types of ${TFJS_CORE} in the installed extension; rewritten when the extension moves. Delete this line to keep your own settings.`;

/** The editor settings of a variants folder: tfjs-core's declarations from `typesDir`. */
export function variantTsconfig(typesDir: string): Record<string, unknown> {
  const core = path.join(typesDir, 'node_modules', TFJS_SCOPE, 'tfjs-core');
  return {
    [MANAGED_KEY]: MANAGED_NOTE,
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      module: 'ESNext',
      moduleResolution: 'Bundler',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      paths: {
        [TFJS_CORE]: [path.join(core, 'dist', 'index.d.ts')],
        [`${TFJS_CORE}/*`]: [path.join(core, '*')],
      },
    },
    include: ['**/*.ts'],
  };
}

export type TsconfigOutcome = 'written' | 'updated' | 'current' | 'foreign';

/**
 * Writes `<variantsDir>/tsconfig.json` when there is none, or rewrites Regbench's own when it points
 * elsewhere (the extension moved or was updated). A tsconfig.json without the marker is the user's:
 * it is left alone ('foreign').
 */
export function writeVariantTsconfig(variantsDir: string, typesDir: string): TsconfigOutcome {
  const file = path.join(variantsDir, 'tsconfig.json');
  const text = JSON.stringify(variantTsconfig(typesDir), null, 2) + '\n';
  let existing: string | undefined;
  try {
    existing = fs.readFileSync(file, 'utf8');
  } catch {
    existing = undefined;
  }
  if (existing === text) return 'current';
  if (existing !== undefined && !isManaged(existing)) return 'foreign';
  fs.mkdirSync(variantsDir, { recursive: true });
  fs.writeFileSync(file, text);
  return existing === undefined ? 'written' : 'updated';
}

function isManaged(tsconfig: string): boolean {
  try {
    const parsed: unknown = JSON.parse(tsconfig);
    return typeof parsed === 'object' && parsed !== null && MANAGED_KEY in parsed;
  } catch {
    return false;
  }
}
