/**
 * One-line explanations for the known ways `@tensorflow/tfjs-node(-gpu)` fails to load, in place
 * of the loader's stack trace: its last release (4.22) does not run on Node 23 and later, its
 * binding is built against one Node ABI (so it does not load in the editor's Electron), it
 * downloads libtensorflow at install (absent offline), and the GPU build needs CUDA 11.2 with
 * cuDNN 8.1. Each message says what to do instead.
 */
export interface LoaderContext {
  /** process.versions.node */
  node: string;
  /** process.versions.electron, when running inside the editor */
  electron?: string;
}

const ALTERNATIVE = 'or use the native path (--backend wasm+native), which needs no download and loads in the editor too';

export function explainTfjsNodeFailure(pkg: string, message: string, ctx: LoaderContext): string {
  const nodeMajor = Number(ctx.node.split('.')[0]);
  if (/NODE_MODULE_VERSION|compiled against a different Node\.js version/i.test(message)) {
    const where = ctx.electron ? `the editor's Electron ${ctx.electron}` : `Node ${ctx.node}`;
    return `${pkg} was built for another Node ABI than ${where}'s; it loads only in the Node it was installed with: run from the regbench CLI there, ${ALTERNATIVE}`;
  }
  if (/libcudart\.so|libcudnn\.so|libcublas|cuda/i.test(message)) {
    return `${pkg} needs CUDA 11.2 and cuDNN 8.1 (${firstMatch(message, /lib(?:cudart|cudnn|cublas)[\w.]*/i) ?? 'a CUDA library'} not found); install those versions, ${ALTERNATIVE}`;
  }
  if (/libtensorflow/i.test(message)) {
    return `${pkg}'s libtensorflow is missing (it is downloaded when the package installs, which fails offline); reinstall it online, ${ALTERNATIVE}`;
  }
  if (nodeMajor >= 23) {
    return `${pkg} 4.22, its last release, does not load on Node 23 and later (this is Node ${ctx.node}): use Node 20 or 22, ${ALTERNATIVE}`;
  }
  if (/Cannot find module/i.test(message)) {
    return `${pkg} is not installed: \`npm install ${pkg}\` (it downloads libtensorflow), ${ALTERNATIVE}`;
  }
  return `cannot load ${pkg} (${message.split('\n')[0]}); ${ALTERNATIVE}`;
}

function firstMatch(text: string, re: RegExp): string | undefined {
  return text.match(re)?.[0];
}
