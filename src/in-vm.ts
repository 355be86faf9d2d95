// Set in a worker VM's environment by the host (src/run/executors/worker-vm.ts): this process runs inside
// a guest, where emulated (TCG) CPUs make bpftrace's start and BTF reads far slower.
export const IN_VM_ENV = 'TUNBENCH_IN_VM';
export const insideVm = (): boolean => process.env[IN_VM_ENV] === '1';
