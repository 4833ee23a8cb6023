/**
 * The webview side of the VS Code API. `acquireVsCodeApi` may be called once per page load, so
 * this module calls it once and everything else imports `vscodeApi`.
 */
import type { WebviewToHostMessage } from '../src/protocol/webview';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();

export function postToHost(message: WebviewToHostMessage): void {
  api.postMessage(message);
}

export const vscodeApi = {
  getState: (): unknown => api.getState(),
  setState: (state: unknown): void => api.setState(state),
};
