import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeZombie, type ZombieSettings, type ZombieState } from '../../ts/connection/zombie-detector.js';

const z: ZombieSettings = { halfZombieGraceMs: 30_000, halfZombieGraceTlsMs: 300_000, stuckGraceMs: 60_000, stuckGraceTlsMs: 300_000 };
const alive: ZombieState = {
  clientDestroyed: false,
  backendDestroyed: false,
  isTls: false,
  startTime: 0,
  halfDeadSince: 0,
  bytesFromClient: 10,
  bytesToClient: 10,
  stuckExempt: false,
};

test('zombie rules (table)', () => {
  const cases: Array<[string, Partial<ZombieState>, number, Partial<ZombieSettings>, string]> = [
    ['healthy', {}, 1e9, {}, 'alive'],
    ['both destroyed', { clientDestroyed: true, backendDestroyed: true }, 0, {}, 'clean-dead'],
    ['client destroyed, no backend', { clientDestroyed: true, backendDestroyed: undefined }, 0, {}, 'clean-dead'],
    ['client destroyed, first seen', { clientDestroyed: true }, 5, {}, 'half-dead'],
    ['client destroyed within grace', { clientDestroyed: true, halfDeadSince: 1 }, 30_000, {}, 'half-dead'],
    ['client destroyed past grace', { clientDestroyed: true, halfDeadSince: 1 }, 30_001, {}, 'clean-half-dead'],
    ['backend destroyed past plain grace, TLS', { backendDestroyed: true, halfDeadSince: 1, isTls: true }, 30_001, {}, 'half-dead'],
    ['backend destroyed past TLS grace', { backendDestroyed: true, halfDeadSince: 1, isTls: true }, 300_001, {}, 'clean-half-dead'],
    ['half-dead rule disabled', { clientDestroyed: true, halfDeadSince: 1 }, 1e9, { halfZombieGraceMs: 0 }, 'half-dead'],
    ['stuck plain within grace', { bytesToClient: 0 }, 59_999, {}, 'alive'],
    ['stuck plain past grace', { bytesToClient: 0 }, 60_000, {}, 'clean-stuck'],
    ['stuck TLS within grace', { bytesToClient: 0, isTls: true }, 299_999, {}, 'alive'],
    ['stuck TLS past grace', { bytesToClient: 0, isTls: true }, 300_000, {}, 'clean-stuck'],
    ['no data either way is not stuck', { bytesToClient: 0, bytesFromClient: 0 }, 1e9, {}, 'alive'],
    ['stuck rule disabled', { bytesToClient: 0 }, 1e9, { stuckGraceMs: 0 }, 'alive'],
    ['stuck rule exempt (HTTP session)', { bytesToClient: 0, stuckExempt: true }, 1e9, {}, 'alive'],
    ['server spoke only', { bytesFromClient: 0, bytesToClient: 100 }, 1e9, {}, 'alive'],
  ];
  for (const [name, patch, now, zp, want] of cases) {
    assert.equal(judgeZombie({ ...z, ...zp }, { ...alive, ...patch }, now), want, name);
  }
});
