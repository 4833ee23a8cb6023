/**
 * Python variants need an interpreter with PyTorch, both to run and for the editor's completion
 * of `torch.*`. When a Python variant is opened and no interpreter that imports torch is found
 * (the regbench.pythonPath setting, then $REGBENCH_PYTHON, python3, python), one status-bar item
 * says so, with a one-time notification offering the setting and PyTorch's install page.
 * Checked once per window, and again when the setting changes.
 */
import * as vscode from 'vscode';
import { findPython } from '../engine/pytorch/launcher';
import { detectVariantKind } from '../runs/run-request';
import { readSettings } from './settings';

const SET_PATH = 'Set Python Path';
const INSTALL = 'How to Install PyTorch';
const INSTALL_URL = 'https://pytorch.org/get-started/locally/';

/** A Python file that defines a regularizer or a normalization layer, or sits in variants/. */
export function isPythonVariant(doc: Pick<vscode.TextDocument, 'languageId' | 'uri' | 'getText'>): boolean {
  if (doc.languageId !== 'python' || doc.uri.scheme !== 'file') return false;
  if (/[\\/]variants[\\/][^\\/]+\.py$/.test(doc.uri.fsPath)) return true;
  const kind = detectVariantKind(doc.getText(), 'pytorch');
  return kind.regularizer || kind.norm;
}

export class PythonHint implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private item: vscode.StatusBarItem | undefined;
  private state: 'unchecked' | 'checking' | 'found' | 'missing' = 'unchecked';
  private notified = false;

  constructor() {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((e) => this.onEditor(e)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('regbench.pythonPath')) return;
        this.state = 'unchecked';
        this.onEditor(vscode.window.activeTextEditor);
      }),
    );
    this.onEditor(vscode.window.activeTextEditor);
  }

  dispose(): void {
    this.item?.dispose();
    this.disposables.forEach((d) => d.dispose());
  }

  private onEditor(editor: vscode.TextEditor | undefined): void {
    if (this.state !== 'unchecked' || !editor || !isPythonVariant(editor.document)) return;
    this.state = 'checking';
    void findPython({ setting: readSettings().pythonPath, timeoutSeconds: 30 }).then(
      () => {
        this.state = 'found';
        this.item?.hide();
      },
      (err: Error) => {
        this.state = 'missing';
        this.show(err.message);
      },
    );
  }

  private show(detail: string): void {
    this.item ??= vscode.window.createStatusBarItem('regbench.pythonHint', vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'Regbench: PyTorch';
    this.item.text = '$(warning) No PyTorch';
    this.item.tooltip = `Regbench: Python variants need an interpreter with PyTorch, to run and for completion of torch. ${detail}`;
    this.item.command = { command: 'workbench.action.openSettings', title: SET_PATH, arguments: ['regbench.pythonPath'] };
    this.item.show();
    if (this.notified) return;
    this.notified = true;
    void vscode.window
      .showWarningMessage('Regbench: no Python with PyTorch found; Python variants cannot run (set regbench.pythonPath or install PyTorch).', SET_PATH, INSTALL)
      .then((choice) => {
        if (choice === SET_PATH) void vscode.commands.executeCommand('workbench.action.openSettings', 'regbench.pythonPath');
        if (choice === INSTALL) void vscode.env.openExternal(vscode.Uri.parse(INSTALL_URL));
      });
  }
}
