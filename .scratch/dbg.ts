import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { initBackend } from '/work/main/src/engine/tfjs/backend';
import { BatchNorm2d } from '/work/main/src/engine/tfjs/models/batchnorm';
async function main() {
  await initBackend((process.argv[2] ?? 'wasm') as never);
  const c = 8; const shape: [number,number,number,number] = [4,5,5,c];
  const values = Array.from({ length: 4*5*5*c }, (_, i) => Math.sin(i * 1.7) * 2 + 0.3);
  values[7 * c + 2] = NaN;
  for (const fused of [true, false]) {
    const x = tf.variable(tf.tensor(values, shape));
    const bn = new BatchNorm2d(c);
    const weights = tf.sin(tf.reshape(tf.range(0, x.size), shape));
    const y = fused ? bn.applyRelu(x as never, true) : tf.relu(bn.apply(x as never, true));
    const yv = y.dataSync();
    const ch2 = Array.from(yv).filter((_, i) => i % c === 2);
    console.log(fused, 'y ch2 NaN count', ch2.filter(Number.isNaN).length, 'zeros', ch2.filter(v => v === 0).length);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(fused ? bn.applyRelu(x as never, true) : tf.relu(bn.apply(x as never, true)), weights)) as tf.Scalar, [x, bn.weight, bn.bias]);
    console.log(fused, 'dbias', Array.from(grads[bn.bias.name].dataSync()).map(v => v.toFixed(4)).join(' '));
  }
}
main();
