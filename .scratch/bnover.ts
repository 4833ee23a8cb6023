import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { initBackend } from '/work/main/src/engine/tfjs/backend';
import { BatchNorm2d } from '/work/main/src/engine/tfjs/models/batchnorm';
async function main() {
  await initBackend('wasm+native' as never);
  const bn = new BatchNorm2d(16);
  const x = tf.variable(tf.randomNormal([2, 2, 2, 16]));
  const f = () => tf.sum(bn.applyRelu(x as never, true)) as tf.Scalar;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) { const { grads, value } = tf.variableGrads(f, [x, bn.weight, bn.bias]); tf.dispose([value, ...Object.values(grads)]); }
    console.log('BN+relu fwd+bwd on a tiny tensor', ((performance.now() - t0) / 200 * 1000).toFixed(0), 'us');
  }
}
main();
