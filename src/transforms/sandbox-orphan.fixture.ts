// For sandbox.test.ts: starts a function stuck in a native string search (minutes of it), prints its sandbox
// process's id, then kills its own process the hard way (no chance to stop the sandbox process).
import { compileFunction } from './compile.js';
import { FunctionSandbox } from './sandbox.js';
import { SandboxPool } from './sandbox-pool.js';

const pool = new SandboxPool(1);
const code = "export default () => 'a'.repeat(2 ** 21).lastIndexOf('a'.repeat(2 ** 16) + 'b')";
const sandbox = await FunctionSandbox.create(await compileFunction(code, 'typescript'), { timeoutMs: 60_000, memoryBytes: 16 << 20 }, { catalog: () => undefined }, pool);
void sandbox.run([{}]);
setTimeout(() => {
  process.stdout.write(`${pool.pids[0]}\n`, () => process.kill(process.pid, 'SIGKILL'));
}, 500);
