/**
 * The webview-ui-toolkit components the dashboard uses, bundled into dashboard.js (only these
 * are registered, so the rest of the toolkit is tree-shaken away and no second script is needed).
 * FAST styles them through constructable stylesheets, which the webview's CSP allows.
 */
import { provideVSCodeDesignSystem, vsCodeButton } from '@vscode/webview-ui-toolkit';

export function registerToolkit(): void {
  provideVSCodeDesignSystem().register(vsCodeButton());
}

/** `vscode-button` as the dashboard drives it. */
export type ButtonElement = HTMLElement & { disabled: boolean; appearance: 'primary' | 'secondary' | 'icon' };
