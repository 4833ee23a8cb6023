/**
 * `--device` for TypeScript variants: cpu, cuda or cuda:N, on the torch backend (the only
 * TensorFlow.js backend with devices). A CUDA device that is not there is refused before
 * anything starts, in one line (exit 2).
 */
import { loadTorchAddon } from '../engine/tfjs/torch/addon';
import { UsageError } from '../runs/run-request';

/** A refusal printed as one line, without the usage text. */
export class DeviceUnavailableError extends Error {}

export function checkDeviceSyntax(device: string | undefined): void {
  if (device !== undefined && !/^(cpu|cuda(:\d+)?)$/.test(device)) throw new UsageError(`--device must be cpu, cuda or cuda:N (got '${device}')`);
}

/** For a TypeScript variant: the backend to use with `device`, or a refusal. */
export function tfjsBackendForDevice(device: string | undefined, backend: string | undefined): string | undefined {
  if (device === undefined) return backend;
  if (backend !== undefined && backend !== 'torch')
    throw new UsageError(`--device applies to TypeScript variants on --backend torch only (got --backend ${backend})`);
  if (device.startsWith('cuda')) {
    const { addon, reason } = loadTorchAddon();
    if (!addon) throw new DeviceUnavailableError(`--device ${device}: the torch backend is not available (${reason})`);
    const n = addon.info().cudaDevices;
    const index = Number(device.split(':')[1] ?? 0);
    if (n === 0)
      throw new DeviceUnavailableError(
        `--device ${device}: no CUDA device (libtorch ${addon.info().libtorch} here runs on the CPU only); use --device cpu, or a machine with an NVIDIA GPU and PyTorch built with CUDA`,
      );
    if (index >= n) throw new DeviceUnavailableError(`--device ${device}: only ${n} CUDA device(s) here (cuda:0 to cuda:${n - 1})`);
  }
  return 'torch';
}
