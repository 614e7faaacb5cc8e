/**
 * The connection record's lifecycle with stand-in sockets: whatever happens in whatever order
 * (errors and closes on either side, deadlines, explicit closes, an engine that throws), the
 * record releases exactly once, destroys every socket it owns, and leaves no deadline behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { ManualClock } from '../../ts/core/clock.js';
import { Ticker } from '../../ts/core/ticker.js';
import { DeadlineService } from '../../ts/core/deadlines.js';
import { ConnectionRecord, Timer, recordOf, type RecordHost } from '../../ts/connection/connection-record.js';

class FakeSocket extends EventEmitter {
  destroyed = false;
  bytesRead = 0;
  bytesWritten = 0;
  localAddress = '127.0.0.1';
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    queueMicrotask(() => this.emit('close'));
    return this;
  }
}

function rig(opts: { halfCloseTimeout?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const ticker = new Ticker(clock, { manual: true });
  const deadlines = new DeadlineService(clock, ticker);
  const released: ConnectionRecord[] = [];
  const host: RecordHost = {
    deadlines,
    halfCloseTimeout: opts.halfCloseTimeout ?? 0,
    connect: { timeoutMs: 1000, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 },
    released: (r) => released.push(r),
  };
  const client = new FakeSocket();
  const record = new ConnectionRecord(1, client as unknown as net.Socket, '127.0.0.1', 4000, 80, clock.now(), host);
  record.limits(Infinity, Infinity);
  const step = (ms: number): void => {
    for (let i = 0; i < ms; i += 10) {
      clock.advance(10);
      ticker.runDue();
    }
  };
  return { clock, ticker, deadlines, released, record, client, step };
}

type Event = 'client error' | 'client close' | 'backend error' | 'backend close' | 'close()' | 'connect deadline';
const EVENTS: Event[] = ['client error', 'client close', 'backend error', 'backend close', 'close()', 'connect deadline'];

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

test('released exactly once, every socket destroyed, no deadline left: every order of six events', async () => {
  for (const order of permutations(EVENTS)) {
    const r = rig();
    const backend = new FakeSocket();
    r.record.attachBackend(backend as unknown as net.Socket);
    r.record.startTimer(Timer.Connect, 50, r.clock.now());
    for (const e of order) {
      switch (e) {
        case 'client error':
          r.client.emit('error', Object.assign(new Error('x'), { code: 'ECONNRESET' }));
          break;
        case 'client close':
          r.client.emit('close');
          break;
        case 'backend error':
          backend.emit('error', new Error('y'));
          break;
        case 'backend close':
          backend.emit('close');
          break;
        case 'close()':
          r.record.close('proxy', 'shutdown');
          break;
        case 'connect deadline':
          r.step(60);
          break;
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
    const label = order.join(' > ');
    assert.equal(r.released.length, 1, label);
    assert.equal(r.client.destroyed, true, label);
    assert.equal(backend.destroyed, true, label);
    assert.equal(r.deadlines.size, 0, label);
    assert.equal(recordOf(r.client as unknown as net.Socket), undefined, label);
    const expected: Record<Event, [string, string]> = {
      'client error': ['client', 'reset'],
      'client close': ['client', 'closed'],
      'backend error': ['backend', 'error'],
      'backend close': ['backend', 'closed'],
      'close()': ['proxy', 'shutdown'],
      'connect deadline': ['proxy', 'connect_timeout'],
    };
    assert.deepEqual([r.record.closeSide, r.record.closeReason], expected[order[0]!], `the first event decides: ${label}`);
  }
});

test('an error after the close is swallowed (the listeners stay as no-ops), and attaching to a closed record destroys', () => {
  const r = rig();
  r.record.close('client', 'closed');
  assert.doesNotThrow(() => r.client.emit('error', new Error('late')));
  const late = new FakeSocket();
  r.record.attachBackend(late as unknown as net.Socket);
  assert.equal(late.destroyed, true);
  assert.doesNotThrow(() => late.emit('error', new Error('late too')));
  assert.equal(r.released.length, 1);
});

test('an engine hears socket closes, answers its deadlines, maps errors, and is told of the close once, even if it throws', () => {
  const r = rig();
  const heard: string[] = [];
  r.record.engine = {
    onSocketClose: (side) => heard.push(`close ${side}`),
    onTimeout: (reason) => {
      heard.push(`timeout ${reason}`);
      return reason === 'headers_timeout';
    },
    errorReason: () => 'tls_error',
    onClosed: () => {
      heard.push('closed');
      throw new Error('engine clean-up failed');
    },
  };
  r.client.emit('close');
  assert.equal(r.record.closed, false, 'the engine decides');
  r.record.startTimer(Timer.Headers, 20, r.clock.now());
  r.step(30);
  assert.equal(r.record.closed, false, 'answered by the engine');
  r.record.startTimer(Timer.Response, 20, r.clock.now());
  r.step(30);
  assert.equal(r.record.closeReason, 'response_timeout', 'not answered: the record closes');
  assert.deepEqual(heard, ['close client', 'timeout headers_timeout', 'timeout response_timeout', 'closed']);
  assert.equal(r.released.length, 1);

  const r2 = rig();
  r2.record.engine = { onSocketClose: () => {}, errorReason: () => 'tls_error' };
  r2.client.emit('error', new Error('bad record mac'));
  assert.deepEqual([r2.record.closeSide, r2.record.closeReason, r2.record.closeError?.message], ['client', 'tls_error', 'bad record mac']);
});

test('idle limits: traffic moves them, half-close shortens them, a cleared timer does not fire', () => {
  const r = rig({ halfCloseTimeout: 300 });
  r.record.limits(2000, Infinity, 1000);
  r.step(800);
  r.client.bytesRead += 10; // traffic at +800
  r.step(900);
  assert.equal(r.record.closed, false, 'idle only 900 ms of the 1000 ms socketTimeout');
  r.record.markHalfClosed(r.clock.now());
  r.step(200);
  assert.equal(r.record.closed, false);
  r.step(250);
  assert.equal(r.record.closeReason, 'half_close_timeout');

  const r2 = rig();
  r2.record.startTimer(Timer.InitialData, 100, r2.clock.now());
  r2.record.clearTimer(Timer.InitialData);
  r2.step(500);
  assert.equal(r2.record.closed, false);
  r2.record.setInFlight(true, r2.clock.now());
  r2.record.limits(Infinity, 5000, 200);
  r2.step(1000);
  assert.equal(r2.record.closed, false, 'socketTimeout does not apply while a request waits on its backend');
  r2.record.setInFlight(false, r2.clock.now());
  r2.step(400);
  assert.equal(r2.record.closeReason, 'socket_timeout');
});
