// The VM lab's public API.
export { fetchDebianKernel, kernelFromPath, bzImageRelease, type VmKernel } from './kernel-fetch.ts';
export { detectAccel, type AccelChoice } from './accel.ts';
export { runInVm, type RunInVmOptions, type VmRunResult } from './run-in-vm.ts';
export { buildInitramfs } from './initramfs.ts';
