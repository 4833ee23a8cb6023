/**
 * "New Regularizer Variant…" and "New Normalization Variant…": pick a template, name the copy,
 * create `<workspace>/variants/<name>.<ext>` (never overwriting) and open it.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMANDS } from '../protocol/command-ids';
import {
  checkVariantName,
  createVariant,
  freeVariantName,
  hasTypeScriptVariants,
  listTemplates,
  provideVariantTypes,
  variantTarget,
  VARIANTS_DIR,
  type TemplateKind,
} from '../variants/variant-templates';

export class VariantCommands implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  /**
   * `templatesDir`: the extension's templates; `typesDir`: its `dist/types` (tfjs-core's
   * declarations), which the variants' tsconfig.json points at.
   */
  constructor(
    private readonly templatesDir: string,
    private readonly typesDir: string,
  ) {
    this.refreshVariantTypes();
    this.disposables.push(
      vscode.commands.registerCommand(COMMANDS.newRegularizerVariant, () => this.create('regularizers')),
      vscode.commands.registerCommand(COMMANDS.newNormVariant, () => this.create('norms')),
    );
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  /**
   * The extension's folder changes with each install or update: the variants' tsconfig.json of
   * every workspace folder is pointed at this one (a user's own tsconfig.json is left alone).
   */
  private refreshVariantTypes(): void {
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== 'file') continue;
      const dir = path.join(folder.uri.fsPath, VARIANTS_DIR);
      if (!hasTypeScriptVariants(dir)) continue;
      try {
        provideVariantTypes(dir, this.templatesDir, this.typesDir);
      } catch {
        // A read-only workspace: the variants still run, only the editor lacks the types.
      }
    }
  }

  private async create(kind: TemplateKind): Promise<vscode.Uri | undefined> {
    const what = kind === 'regularizers' ? 'regularizer' : 'normalization layer';
    const workspace = targetWorkspace();
    if (!workspace) {
      void vscode.window.showErrorMessage(`Regbench: open a folder first; a new ${what} goes into its variants/ folder.`);
      return undefined;
    }
    const templates = listTemplates(this.templatesDir, kind);
    if (!templates.length) {
      void vscode.window.showErrorMessage(`Regbench: no ${what} templates found in ${path.join(this.templatesDir, kind)}; reinstall the extension.`);
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      templates.map((t) => ({ label: t.name, description: t.language, detail: t.summary || undefined, template: t })),
      { title: `Regbench: new ${what} from a template`, matchOnDescription: true, matchOnDetail: true },
    );
    if (!picked) return undefined;
    const template = picked.template;
    const name = await vscode.window.showInputBox({
      title: `Regbench: name of the new ${what}`,
      prompt: `Creates ${path.join('variants', `<name>${path.extname(template.file)}`)} in ${path.basename(workspace)}`,
      value: freeVariantName(workspace, template),
      validateInput: (value) =>
        checkVariantName(value) ??
        (fs.existsSync(variantTarget(workspace, value, template))
          ? `variants/${value}${path.extname(template.file)} exists already; choose another name.`
          : undefined),
    });
    if (name === undefined) return undefined;
    let target: string;
    try {
      target = createVariant(workspace, name, template, this.typesDir);
    } catch (err) {
      const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
      void vscode.window.showErrorMessage(
        exists
          ? `Regbench: variants/${name}${path.extname(template.file)} exists already; it was left as it is.`
          : `Regbench: could not create the variant: ${(err as Error).message}`,
      );
      return undefined;
    }
    const uri = vscode.Uri.file(target);
    await vscode.window.showTextDocument(uri);
    return uri;
  }
}

/** The folder of the active editor when it is in the workspace, else the first folder. */
function targetWorkspace(): string | undefined {
  const active = vscode.window.activeTextEditor?.document.uri;
  const folder = (active && vscode.workspace.getWorkspaceFolder(active)) ?? vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined;
}
