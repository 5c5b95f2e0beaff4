import { afterEach, describe, expect, it } from 'vitest';
import { SetupError } from '../cli/errors.js';
import { Engine, engineAddress, noEngineMessage } from './engine.js';

describe('no engine', () => {
  const saved = process.env['DOCKER_HOST'];
  afterEach(() => {
    if (saved === undefined) delete process.env['DOCKER_HOST'];
    else process.env['DOCKER_HOST'] = saved;
  });

  it('says in one line how to get an engine', async () => {
    process.env['DOCKER_HOST'] = 'unix:///nonexistent/raftbed-test.sock';
    expect(engineAddress()).toBe('unix:///nonexistent/raftbed-test.sock');
    const err = await Engine.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SetupError);
    const message = (err as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain('unix:///nonexistent/raftbed-test.sock');
    expect(message).toContain('sudo dockerd');
    expect(message).toContain('apt-get install docker.io');
    expect(message).toContain('Docker Desktop');
  });

  it('names the cause it was given', () => {
    expect(noEngineMessage('unix:///x', 'ENOENT')).toMatch(
      /^raftbed: no Docker engine answers at unix:\/\/\/x \(ENOENT\)/,
    );
  });
});
