import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { FrameTracker, encodeFrame, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, type CompletedFrame } from '../../../ts/protocol/ws-frames.js';
import {
  closeOf,
  connectWs,
  nextMessage,
  rawWsClient,
  startRawBackend,
  startRelayHarness,
  startWsBackend,
  waitFor,
  type RelayHarness,
} from './helpers/ws-relay-harness.js';

const INTERVAL = 30_000;
const TIMEOUT = 10_000;
const MASK = Buffer.from([1, 2, 3, 4]);
/** How late the shared sweeper may be for these limits. */
/** How late a ping or its timeout may come: the deadline service's bucket (10 ms) and the harness's tick step (50 ms). */
const PERIOD = 60;
const PERIOD_DEFAULT = PERIOD;

function framesOf(bytes: Buffer): CompletedFrame[] {
  return new FrameTracker().feed(bytes);
}

/** Text, binary, 1 MiB both ways and a fragmented message through an echo backend. */
async function exerciseEcho(t: TestContext, h: RelayHarness, between: () => void = () => {}): Promise<void> {
  const ws = await connectWs(t, h.url);
  ws.send('hello');
  assert.deepEqual(await nextMessage(ws), { data: Buffer.from('hello'), isBinary: false });
  between();
  const bin = randomBytes(300);
  ws.send(bin);
  assert.deepEqual(await nextMessage(ws), { data: bin, isBinary: true });
  between();
  const big = randomBytes(1024 * 1024);
  ws.send(big);
  const back = await nextMessage(ws);
  assert.equal(back.data.length, big.length);
  assert.ok(back.data.equals(big), '1 MiB echoed intact');
  between();
  ws.send('frag-1/', { fin: false });
  between();
  ws.send('frag-2/', { fin: false });
  ws.send('frag-3', { fin: true });
  assert.deepEqual(await nextMessage(ws), { data: Buffer.from('frag-1/frag-2/frag-3'), isBinary: false });
  ws.close(1000, 'bye');
  assert.equal(await closeOf(ws), 1000);
}

describe('relayWebSocket without pings (plain pipe)', () => {
  test('messages both ways: text, binary, 1 MiB, fragmented', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port });
    await exerciseEcho(t, h);
    const entry = await h.nextRelay();
    // After the close handshake the ws server ends TCP first (RFC 6455 7.1.1).
    assert.equal(await entry.closed, 'closed/backend');
    assert.equal(entry.closeCalls, 1);
    assert.equal(h.ticker.size, 0, 'no ticker task without pings');
  });

  test('bytes read past the handshake are replayed first, once, on both sides', { timeout: 15_000 }, async (t) => {
    const greeting = encodeFrame(OP_TEXT, Buffer.from('welcome'));
    const backend = await startRawBackend(t, greeting);
    const h = await startRelayHarness(t, { backendPort: backend.port });
    const early = encodeFrame(OP_TEXT, Buffer.from('early'), { mask: MASK });
    const client = await rawWsClient(t, h.port, early);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    assert.ok(entry.clientRest.equals(early), 'client bytes came with the upgrade head');
    assert.ok(entry.backendRest.equals(greeting), 'backend bytes came with the 101 head');
    await waitFor(() => peer.received().length >= early.length && client.received().length >= greeting.length, 'replay');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(peer.received().equals(early));
    assert.ok(client.received().equals(greeting));
  });

  test('FIN is propagated each way (half-close)', { timeout: 15_000 }, async (t) => {
    const backend = await startRawBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port });
    const client = await rawWsClient(t, h.port);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    client.socket.end(encodeFrame(OP_TEXT, Buffer.from('last'), { mask: MASK }));
    await waitFor(() => peer.ended, 'backend sees FIN');
    const late = encodeFrame(OP_TEXT, Buffer.from('after your FIN'));
    peer.socket.end(late);
    await waitFor(() => client.ended, 'client sees FIN');
    assert.ok(client.received().equals(late), 'data after the client FIN still reaches it');
    assert.equal(await entry.closed, 'closed/client');
  });

  test('close() ends both sides; onClose once with the reason', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port });
    const ws = await connectWs(t, h.url);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    const wsClosed = closeOf(ws);
    const peerClosed = closeOf(peer);
    entry.relay.close('shutdown');
    entry.relay.close('closed');
    assert.equal(await wsClosed, 1006);
    assert.equal(await peerClosed, 1006);
    assert.equal(await entry.closed, 'shutdown/proxy');
    entry.relay.close('closed');
    assert.equal(entry.closeCalls, 1);
  });

  test('a reset backend destroys the client side', { timeout: 15_000 }, async (t) => {
    const backend = await startRawBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port });
    const client = await rawWsClient(t, h.port);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    peer.socket.resetAndDestroy();
    assert.equal(await entry.closed, 'reset/backend');
    await waitFor(() => client.ended, 'client sees the end');
  });
});

describe('relayWebSocket with pings (manual clock and ticker)', () => {
  test('messages both ways with pings going out between them; backend never sees the pongs', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: 1000, pingTimeoutMs: 1_000_000 });
    await exerciseEcho(t, h, () => h.tick(1000));
    assert.equal(backend.pongs.length, 0);
    assert.equal(await (await h.nextRelay()).closed, 'closed/backend');
    assert.equal(h.deadlines.size, 0, 'no deadline left with its last relay');
    assert.equal(h.ticker.size, 0, 'the ticker timer goes with the last deadline');
  });

  test('with permessage-deflate (RSV1 frames) as well', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t, { perMessageDeflate: true });
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: 1000, pingTimeoutMs: 1_000_000 });
    const ws = await connectWs(t, h.url, { perMessageDeflate: true });
    assert.match(ws.extensions, /permessage-deflate/);
    const text = 'compress me '.repeat(5000);
    for (let i = 0; i < 5; i++) {
      ws.send(text);
      h.tick(1000);
      assert.equal((await nextMessage(ws)).data.toString(), text);
    }
    assert.equal(backend.pongs.length, 0);
  });

  test('an idle ws client gets pings, answers them and stays connected', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT });
    const ws = await connectWs(t, h.url);
    const entry = await h.nextRelay();
    let pings = 0;
    ws.on('ping', (data: Buffer) => {
      if (data.length === 8) pings++; // the proxy's own (the backend's below is longer)
    });
    h.tick(INTERVAL - 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(pings, 0, 'no ping before the interval');
    for (let round = 1; round <= 4; round++) {
      const before = entry.bytesFromClient();
      // The pong came back at the ping's clock time T; 2 * TIMEOUT already passed in the last round.
      h.tick(round === 1 ? PERIOD : INTERVAL - 2 * TIMEOUT + PERIOD);
      await waitFor(() => pings === round, `ping ${round}`);
      await waitFor(() => entry.bytesFromClient() >= before + 14, `pong ${round}`);
      h.tick(TIMEOUT);
      h.tick(TIMEOUT);
    }
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(backend.pongs.length, 0, 'proxy pongs swallowed');
    // The backend's own pings are answered end to end.
    const peer = await backend.nextPeer();
    peer.ping('from-backend');
    await waitFor(() => backend.pongs.length === 1, 'backend pong');
    assert.equal(backend.pongs[0]!.toString(), 'from-backend');
    ws.send('still here');
    assert.equal((await nextMessage(ws)).data.toString(), 'still here');
  });

  test('a raw client that ignores pings is closed after pingTimeoutMs', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT });
    const client = await rawWsClient(t, h.port);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    const peerClosed = closeOf(peer);
    h.tick(INTERVAL);
    await waitFor(() => client.received().length >= 10, 'ping');
    const [ping] = framesOf(client.received());
    assert.equal(ping?.opcode, OP_PING);
    assert.equal(ping?.masked, false);
    assert.equal(ping?.payloadLength, 8);
    h.tick(TIMEOUT - 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(client.ended, false, 'not before the timeout');
    h.tick(PERIOD + 1);
    assert.equal(await entry.closed, 'ws_ping_timeout/proxy');
    await waitFor(() => client.ended, 'client sees the end');
    assert.equal(await peerClosed, 1006);
    assert.equal(h.ticker.size, 0);
    assert.equal(h.deadlines.size, 0);
  });

  test('a ws client with autoPong off is closed too; pingTimeoutMs defaults to pingIntervalMs', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL });
    const ws = await connectWs(t, h.url, { autoPong: false });
    const wsClosed = closeOf(ws);
    const entry = await h.nextRelay();
    let pinged = false;
    ws.on('ping', () => (pinged = true));
    h.tick(INTERVAL);
    await waitFor(() => pinged, 'ping');
    h.tick(INTERVAL - 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(ws.readyState, WebSocket.OPEN);
    h.tick(PERIOD_DEFAULT + 1);
    assert.equal(await entry.closed, 'ws_ping_timeout/proxy');
    assert.equal(await wsClosed, 1006);
  });

  test('client traffic postpones the next ping', { timeout: 15_000 }, async (t) => {
    const backend = await startRawBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT });
    const client = await rawWsClient(t, h.port);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    for (let i = 0; i < 3; i++) {
      h.tick(INTERVAL - 1000);
      const msg = encodeFrame(OP_TEXT, Buffer.from(`msg${i}`), { mask: MASK });
      const before = entry.bytesFromClient();
      client.socket.write(msg);
      await waitFor(() => entry.bytesFromClient() >= before + msg.length, 'client bytes');
    }
    h.tick(INTERVAL - 1000 - PERIOD);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(client.received().length, 0, 'no ping while the client keeps talking');
    assert.equal(framesOf(peer.received()).length, 3);
    h.tick(1000 + 2 * PERIOD);
    await waitFor(() => client.received().length === 10, 'ping after a full silent interval');
  });

  test('a ping is held back until the frame in flight to the client ends', { timeout: 15_000 }, async (t) => {
    const backend = await startRawBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT });
    const client = await rawWsClient(t, h.port);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    const big = encodeFrame(OP_BINARY, randomBytes(100_000));
    const next = encodeFrame(OP_TEXT, Buffer.from('next'));
    peer.socket.write(big.subarray(0, 3)); // inside the 16-bit length
    await waitFor(() => client.received().length === 3, 'partial header');
    h.tick(INTERVAL);
    peer.socket.write(big.subarray(3, 50_000));
    await waitFor(() => client.received().length === 50_000, 'half the frame');
    h.tick(TIMEOUT * 3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(client.received().length, 50_000, 'no ping inside a frame');
    assert.equal(client.closed, false, 'the timeout runs only once the ping is out');
    peer.socket.write(Buffer.concat([big.subarray(50_000), next]));
    await waitFor(() => client.received().length === big.length + 10 + next.length, 'rest, ping, next');
    const frames = framesOf(client.received());
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.payloadLength]),
      [
        [OP_BINARY, 100_000],
        [OP_PING, 8],
        [OP_TEXT, 4],
      ],
    );
    assert.ok(client.received().subarray(0, big.length).equals(big));
    h.tick(TIMEOUT + PERIOD);
    assert.equal(await entry.closed, 'ws_ping_timeout/proxy');
  });

  test('stress: many backend messages with pings injected at arbitrary points arrive intact', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t, { echo: false });
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: 10, pingTimeoutMs: 1_000_000_000 });
    const ws = await connectWs(t, h.url);
    const peer = await backend.nextPeer();
    const sent: Buffer[] = [];
    for (let i = 0; i < 150; i++) {
      const size = i % 10 === 0 ? 200_000 + i : (i * 7919) % 3000;
      sent.push(randomBytes(size));
    }
    const got: Buffer[] = [];
    let pings = 0;
    ws.on('message', (data: RawData) => got.push(data as Buffer));
    ws.on('ping', () => pings++);
    const turn = async (): Promise<void> => {
      h.tick(10);
      await new Promise((resolve) => setImmediate(resolve));
      if (ws.readyState !== WebSocket.OPEN) assert.fail('client closed during the stress run');
    };
    for (const m of sent) {
      peer.send(m, { binary: true, fin: true });
      await turn();
    }
    while (got.length < sent.length) await turn();
    got.forEach((m, i) => assert.ok(m.equals(sent[i]!), `message ${i}`));
    assert.ok(pings > 3, `pings injected (${pings})`);
    await waitFor(() => true, 'settle');
    assert.equal(backend.pongs.length, 0);
  });

  test('own pongs are swallowed even when split across chunks; other pongs pass through', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT });
    const client = await rawWsClient(t, h.port);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    const messages: string[] = [];
    peer.on('message', (data: RawData) => messages.push(String(data)));
    h.tick(INTERVAL);
    await waitFor(() => client.received().length >= 10, 'ping');
    const token = framesOf(client.received())[0]!.payload!;
    const ours = encodeFrame(OP_PONG, token, { mask: MASK });
    const writeApart = async (bytes: Buffer, cuts: number[]): Promise<void> => {
      let prev = 0;
      for (const cut of [...cuts, bytes.length]) {
        const before = entry.bytesFromClient();
        client.socket.write(bytes.subarray(prev, cut));
        await waitFor(() => entry.bytesFromClient() >= before + cut - prev, 'chunk');
        prev = cut;
      }
    };
    await writeApart(ours, [1, 2, 5, 9]); // byte by byte through header, mask and payload
    await writeApart(Buffer.concat([encodeFrame(OP_TEXT, Buffer.from('a'), { mask: MASK }), ours, encodeFrame(OP_TEXT, Buffer.from('b'), { mask: MASK })]), [9]);
    await writeApart(encodeFrame(OP_PONG, Buffer.from('not-ours'), { mask: MASK }), [4]);
    await writeApart(encodeFrame(OP_PONG, Buffer.alloc(8, 0x41), { mask: MASK }), []);
    await writeApart(Buffer.concat([ours, encodeFrame(OP_TEXT, Buffer.from('c'), { mask: MASK })]), [3, 16]);
    await waitFor(() => messages.length === 3 && backend.pongs.length === 2, 'frames at the backend');
    assert.deepEqual(messages, ['a', 'b', 'c']);
    assert.deepEqual(
      backend.pongs.map((p) => p.toString()),
      ['not-ours', 'AAAAAAAA'],
    );
  });

  test('no pings after a Close frame from the backend', { timeout: 15_000 }, async (t) => {
    const backend = await startRawBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT });
    const client = await rawWsClient(t, h.port);
    await h.nextRelay();
    const peer = await backend.nextPeer();
    const closeFrame = encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]));
    peer.socket.write(closeFrame);
    await waitFor(() => client.received().length === closeFrame.length, 'close frame');
    h.tick(INTERVAL * 3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(client.received().equals(closeFrame), 'nothing after the Close frame');
  });

  test('an unframeable length from the backend closes both sides (protocol_error)', { timeout: 15_000 }, async (t) => {
    const backend = await startRawBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT });
    const client = await rawWsClient(t, h.port);
    const entry = await h.nextRelay();
    const peer = await backend.nextPeer();
    peer.socket.write(Buffer.from([0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1, 0xaa]));
    assert.equal(await entry.closed, 'protocol_error/backend');
    await waitFor(() => client.ended, 'client sees the end');
  });

  test('all relays share the one ticker timer (one deadline each), removed with the last relay', { timeout: 15_000 }, async (t) => {
    const backend = await startWsBackend(t);
    const h = await startRelayHarness(t, { backendPort: backend.port, pingIntervalMs: INTERVAL, pingTimeoutMs: TIMEOUT });
    const clients = await Promise.all([1, 2, 3].map(() => connectWs(t, h.url)));
    const entries = await Promise.all([1, 2, 3].map(() => h.nextRelay()));
    assert.equal(h.ticker.size, 1);
    assert.equal(h.deadlines.size, 3);
    clients[0]!.terminate();
    await entries[0]!.closed;
    assert.equal(h.deadlines.size, 2);
    for (const ws of clients.slice(1)) ws.close();
    await Promise.all(entries.map((e) => e.closed));
    assert.equal(h.ticker.size, 0);
    assert.equal(h.deadlines.size, 0);
  });
});
