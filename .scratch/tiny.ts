import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '/work/main/src/engine/tfjs/backend';
async function main() {
  await initBackend('wasm+native' as never);
  const a = tf.randomNormal([64]); const b = tf.randomNormal([64]);
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    tf.tidy(() => { for (let i = 0; i < 5000; i++) tf.add(a, b); });
    const t1 = performance.now();
    tf.tidy(() => { for (let i = 0; i < 5000; i++) tf.mul(a, 0.5); });
    const t2 = performance.now();
    console.log('add', ((t1 - t0) / 5).toFixed(1), 'us/op; mul scalar', ((t2 - t1) / 5).toFixed(1), 'us/op');
  }
  // inside a gradient tape
  const v = tf.variable(tf.randomNormal([64]));
  const t0 = performance.now();
  const { grads } = tf.variableGrads(() => { let x: tf.Tensor = v; for (let i = 0; i < 2000; i++) x = tf.mul(tf.add(x, b), 0.999); return tf.sum(x) as tf.Scalar; }, [v]);
  console.log('taped fwd+bwd per forward op', ((performance.now() - t0) / 4000 * 1000).toFixed(1), 'us');
}
main();
