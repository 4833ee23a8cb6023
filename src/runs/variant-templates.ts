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
    let head = '';
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

/** Copies the template; never overwrites (throws an EEXIST error when the file exists). */
export function createVariant(workspace: string, name: string, template: Template): string {
  const target = variantTarget(workspace, name, template);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, fs.readFileSync(template.file, 'utf8'), { flag: 'wx' });
  // TypeScript variants import types from 'regbench': give the editor its declarations.
  const types = path.join(path.dirname(path.dirname(template.file)), 'regbench.d.ts');
  const typesTarget = path.join(path.dirname(target), 'regbench.d.ts');
  if (/\.tsx?$/.test(target) && fs.existsSync(types) && !fs.existsSync(typesTarget)) fs.copyFileSync(types, typesTarget);
  return target;
}
