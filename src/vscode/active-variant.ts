/**
 * The variant a command acts on: the file named by the command's argument, else the active
 * editor's file. When there is none, says what a variant is and offers to create one.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { EngineId } from '../protocol/benchmarks';
import type { VariantKind } from '../protocol/benchmark-tracks';
import { filePathOf } from './command-args';
import { checkVariant } from '../variants/variant-file';

export interface Variant {
  path: string;
  engine: EngineId;
  kind: VariantKind;
}

const NEW_REGULARIZER = 'New Regularizer Variant…';
const NEW_NORM = 'New Normalization Variant…';

/** Resolves the variant (saving its editor first, since the worker reads the file), or explains. */
export async function resolveVariant(arg: unknown): Promise<Variant | undefined> {
  const argPath = filePathOf(arg);
  let document: vscode.TextDocument | undefined;
  if (argPath) {
    document = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === argPath);
    if (!document) {
      try {
        document = await vscode.workspace.openTextDocument(vscode.Uri.file(argPath));
      } catch {
        void vscode.window.showErrorMessage(`Regbench: cannot read the variant ${argPath}.`);
        return undefined;
      }
    }
  } else {
    document = vscode.window.activeTextEditor?.document;
  }
  if (!document) {
    explainNoVariant('There is no active editor.');
    return undefined;
  }
  if (document.uri.scheme !== 'file') {
    explainNoVariant(`${path.basename(document.uri.path)} is not saved in the workspace; save it as a file first.`);
    return undefined;
  }
  const check = checkVariant(document.uri.fsPath, document.getText());
  if (!check.ok) {
    explainNoVariant(`${check.reason}.`);
    return undefined;
  }
  if (document.isDirty && !(await document.save())) {
    void vscode.window.showErrorMessage(`Regbench: ${path.basename(document.uri.fsPath)} could not be saved; the run needs the file on disk.`);
    return undefined;
  }
  return { path: document.uri.fsPath, engine: check.engine, kind: check.kind };
}

function explainNoVariant(why: string): void {
  void vscode.window
    .showErrorMessage(
      `Regbench: no variant to run. ${why} Open a .ts, .js or .py file that defines computeRegularization / compute_regularization or CustomNorm, then run the command again.`,
      NEW_REGULARIZER,
      NEW_NORM,
    )
    .then((choice) => {
      if (choice === NEW_REGULARIZER) void vscode.commands.executeCommand('regbench.newRegularizerVariant');
      if (choice === NEW_NORM) void vscode.commands.executeCommand('regbench.newNormVariant');
    });
}
