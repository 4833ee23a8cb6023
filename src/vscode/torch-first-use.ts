/**
 * The torch backend's first use in the editor: where `regbench.backend` is `torch` and no addon
 * is there yet (an installed extension ships the sources, not a binary), builds it against this
 * machine's libtorch under a progress notification before the first run, instead of a run that
 * sits silent for minutes in its worker. The build itself: src/engine/tfjs/torch/first-use-build.ts.
 */
import * as vscode from 'vscode';
import { buildTorchAddon, torchAddonBuilt } from '../engine/tfjs/torch/first-use-build';

let building: Promise<void> | null = null;

/** Resolves once an addon is there or the build has said why not (runs then use the wasm path). */
export function ensureTorchBackend(backend: string | undefined, python: string | undefined, distDir = __dirname): Promise<void> {
  if (backend !== 'torch' || torchAddonBuilt(distDir)) return Promise.resolve();
  building ??= Promise.resolve(
    vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: "Regbench: building the torch backend against this machine's libtorch (once per libtorch version, a few minutes)",
      },
      async () => {
        const outcome = await buildTorchAddon(distDir, python);
        if (!outcome) return;
        if (outcome.path) void vscode.window.showInformationMessage(`Regbench: ${outcome.message}`);
        else void vscode.window.showWarningMessage(`Regbench: ${outcome.message}; TypeScript runs use the wasm backend.`);
      },
    ),
  ).finally(() => (building = null));
  return building;
}
