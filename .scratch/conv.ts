import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '/work/main/src/engine/tfjs/backend';
async function main() {
  await initBackend((process.argv[2] ?? 'wasm+native') as never);
  const cases: Array<[number[], number, number]> = [[[128,32,32,3],16,1],[[128,32,32,16],16,1],[[128,32,32,16],32,2],[[128,16,16,32],32,1],[[128,16,16,32],64,2],[[128,8,8,64],64,1]];
  for (const [s, o, st] of cases) {
    const x = tf.randomNormal(s as [number,number,number,number]); const w = tf.randomNormal([3,3,s[3],o]) as tf.Tensor4D;
    const y = tf.conv2d(x as tf.Tensor4D, w, st, 'same');
    const time = (name: string, f: () => tf.Tensor) => {
      for (let i = 0; i < 3; i++) f().dispose();
      const t0 = performance.now(); const n = 10;
      for (let i = 0; i < n; i++) f().dispose();
      console.log(s.join('x'), o, st, name, ((performance.now() - t0) / n).toFixed(2), 'ms');
    };
    time('fwd', () => tf.conv2d(x as tf.Tensor4D, w, st, 'same'));
    time('bwdIn', () => tf.engine().runKernel('Conv2DBackpropInput', { dy: y, filter: w }, { strides: st, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: s }) as tf.Tensor);
    time('bwdW', () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: y }, { strides: st, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3,3,s[3],o] }) as tf.Tensor);
  }
}
main();
