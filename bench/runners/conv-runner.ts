/**
 * The child program of bench/conv.mjs (bundled by bench/bundle-runner.mjs): times each convolution
 * kernel on the active backend and prints one JSON line.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/tfjs/backend';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const [backend, casesJson, repsS] = process.argv.slice(2);
  const info = await initBackend(backend as never);
  const reps = Number(repsS);
  const cases = JSON.parse(casesJson) as Array<[[number, number, number, number], number, number, number, boolean]>;
  const results = cases.map(([shape, out, k, stride, dw]) => {
    const x = tf.randomNormal(shape) as tf.Tensor4D;
    const filterShape: [number, number, number, number] = dw ? [k, k, shape[3], out / shape[3]] : [k, k, shape[3], out];
    const w = tf.randomNormal(filterShape) as tf.Tensor4D;
    const pad = (k - 1) / 2;
    const conv = (): tf.Tensor4D => (dw ? tf.depthwiseConv2d(x, w, stride, pad) : tf.conv2d(x, w, stride, pad));
    const dy = conv();
    const attrs = { strides: stride, pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
    const names = dw ? ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'] : ['Conv2DBackpropInput', 'Conv2DBackpropFilter'];
    const kernels: Record<string, () => tf.Tensor> = {
      forward: conv,
      'input gradient': () => tf.engine().runKernel(names[0], { dy, filter: w }, { ...attrs, inputShape: shape } as never) as tf.Tensor,
      'filter gradient': () => tf.engine().runKernel(names[1], { x, dy }, { ...attrs, filterShape } as never) as tf.Tensor,
    };
    const timing: Record<string, number> = {};
    for (const [name, f] of Object.entries(kernels)) {
      for (let i = 0; i < 3; i++) f().dispose();
      const times: number[] = [];
      for (let i = 0; i < reps; i++) {
        // Kernels on wasm (and the native ones) run synchronously: the call is the work.
        const t0 = performance.now();
        const r = f();
        times.push(performance.now() - t0);
        r.dispose();
      }
      timing[name] = median(times);
    }
    tf.dispose([x, w, dy]);
    return timing;
  });
  console.log(JSON.stringify({ backend: info.backend, onednn: info.versions.onednn ?? null, cases: results }));
  process.exit(0);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
