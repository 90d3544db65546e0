import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface, type Interface } from 'node:readline';

/** Drives dpop-client.mjs: a DPoP key held by the `dpop` npm package in another process. */
export class DpopClient {
  private constructor(
    private readonly child: ChildProcess,
    private readonly lines: Interface,
    readonly jkt: string,
  ) {}

  static async start(): Promise<DpopClient> {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'dpop-client.mjs')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    if (!child.stdout) throw new Error('no stdout');
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve) => lines.once('line', resolve));
    return new DpopClient(child, lines, (JSON.parse(first) as { jkt: string }).jkt);
  }

  async proof(htm: string, htu: string, accessToken: string): Promise<string> {
    const answer = new Promise<string>((resolve) => this.lines.once('line', resolve));
    this.child.stdin?.write(`${JSON.stringify({ htm, htu, accessToken })}\n`);
    return (JSON.parse(await answer) as { proof: string }).proof;
  }

  stop(): void {
    this.child.kill();
  }
}
