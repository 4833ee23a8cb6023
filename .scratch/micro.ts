import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '/work/main/src/engine/tfjs/backend';
import { MASKED_GRAD } from '/work/main/src/engine/tfjs/kernels/activation-grad';
async function main() {
  const info = await initBackend((process.argv[2] ?? 'wasm+native') as never);
  console.log(info);
  const shapes: [number,number,number,number][] = [[128,32,32,16],[128,16,16,32],[128,8,8,64]];
  for (const s of shapes) {
    const x = tf.randomNormal(s); const dy = tf.randomNormal(s);
    const time = (name: string, f: () => tf.Tensor) => {
      for (let i = 0; i < 3; i++) f().dispose();
      const t0 = performance.now(); const n = 10;
      for (let i = 0; i < n; i++) { const r = f(); r.dataSync; r.dispose(); }
      console.log(s.join('x'), name, ((performance.now() - t0) / n).toFixed(2), 'ms');
    };
    time('relu', () => tf.relu(x));
    time('masked', () => tf.engine().runKernel(MASKED_GRAD, { dy, x }, { cap: Infinity }) as tf.Tensor);
    time('add', () => tf.add(x, dy));
    time('mul', () => tf.mul(x, dy));
  }
}
main();
