import { PortListener } from './port-listener.js';
import type { AcceptSink } from '../dispatch/dispatcher.js';
import type { AcceptedSocketOptions, NodeInternalsOptions } from '../core/node-internals.js';

/** The set of bound ports; binds all-or-nothing and reconciles with a new port set. */
export class PortManager {
  private readonly listeners = new Map<number, PortListener>();

  constructor(
    private readonly address: string | undefined,
    private readonly socketOptions: AcceptedSocketOptions,
    private readonly internals: Readonly<NodeInternalsOptions>,
    private readonly sink: AcceptSink,
    private readonly onError: (err: Error, port: number) => void,
  ) {}

  ports(): number[] {
    return [...this.listeners.keys()].sort((a, b) => a - b);
  }

  has(port: number): boolean {
    return this.listeners.has(port);
  }

  /** Bind every port not yet bound; if any fails, unbind the ones this call bound and rethrow. */
  async add(ports: Iterable<number>): Promise<void> {
    const fresh: PortListener[] = [];
    try {
      for (const port of ports) {
        if (this.listeners.has(port)) continue;
        const l = new PortListener(port, this.socketOptions, this.internals, this.sink, this.onError);
        await l.listen(this.address);
        fresh.push(l);
        this.listeners.set(port, l);
      }
    } catch (err) {
      for (const l of fresh) {
        this.listeners.delete(l.port);
        await l.close();
      }
      throw err;
    }
  }

  async remove(port: number): Promise<void> {
    const l = this.listeners.get(port);
    if (!l) return;
    this.listeners.delete(port);
    await l.close();
  }

  /** Make the bound set equal `wanted` (new ports first, so a failure changes nothing). */
  async reconcile(wanted: ReadonlySet<number>): Promise<void> {
    await this.add(wanted);
    for (const port of this.ports()) if (!wanted.has(port)) await this.remove(port);
  }

  async closeAll(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map((l) => l.close()));
  }
}
