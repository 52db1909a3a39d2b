// Unit tests of src/server.ts under plain Node (`npm run test:unit`; run from pytest too).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { expandPath, findExecutable, INSTALL_HINT, notFoundMessage } from '../src/server';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'funnel-vscode-'));
}

test('a program on PATH is found, the first directory winning', () => {
  const first = tempDir();
  const second = tempDir();
  for (const dir of [first, second]) {
    fs.writeFileSync(path.join(dir, 'funnelc'), '#!/bin/sh\n', { mode: 0o755 });
  }
  const env = { PATH: [path.join(first, 'missing'), first, second].join(path.delimiter) };
  assert.equal(findExecutable('funnelc', env, 'linux'), path.join(first, 'funnelc'));
});

test('a missing program, a directory and a file that is not executable are not found', () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'funnelc'));
  fs.writeFileSync(path.join(dir, 'plain'), 'text', { mode: 0o644 });
  const env = { PATH: dir };
  assert.equal(findExecutable('funnelc', env, 'linux'), undefined);
  assert.equal(findExecutable('plain', env, 'linux'), undefined);
  assert.equal(findExecutable('nowhere', env, 'linux'), undefined);
  assert.equal(findExecutable('', env, 'linux'), undefined);
  assert.equal(findExecutable('funnelc', {}, 'linux'), undefined);
});

test('a path is checked as it is, not looked up on PATH', () => {
  const dir = tempDir();
  const program = path.join(dir, 'bin', 'funnelc');
  fs.mkdirSync(path.dirname(program));
  fs.writeFileSync(program, '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(findExecutable(program, { PATH: '' }, 'linux'), program);
  assert.equal(findExecutable(path.join(dir, 'funnelc'), { PATH: path.dirname(program) }, 'linux'), undefined);
});

test('Windows: PATHEXT endings are tried', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'funnelc.EXE'), '');
  assert.equal(findExecutable('funnelc', { PATH: dir, PATHEXT: '.COM;.EXE' }, 'win32'), path.join(dir, 'funnelc.EXE'));
});

test('${workspaceFolder} and ~ are expanded in the configured path', () => {
  assert.equal(expandPath(' ${workspaceFolder}/.venv/bin/funnelc ', '/w', '/h'), '/w/.venv/bin/funnelc');
  assert.equal(expandPath('~/bin/funnelc', undefined, '/h'), '/h/bin/funnelc');
  assert.equal(expandPath('funnelc', '/w', '/h'), 'funnelc');
});

test('the message names the setting and how to install the server', () => {
  for (const message of [notFoundMessage('funnelc'), notFoundMessage('/x/funnelc', 'spawn EACCES')]) {
    assert.match(message, /funnel\.server\.path/);
    assert.ok(message.includes(INSTALL_HINT));
    assert.equal(INSTALL_HINT, 'python3 -m venv .venv && .venv/bin/pip install .');
    assert.match(message, /not on PyPI: in a clone of its repository/);
    assert.match(message, /`\.venv\/bin\/funnelc`/);
    assert.match(message, /or put funnelc on `PATH`/);
    assert.ok(!message.includes('pip install funnelc'), message);
    assert.match(message, /funnelc lsp/);
  }
  assert.match(notFoundMessage('/x/funnelc', 'spawn EACCES'), /could not be started \(spawn EACCES\)/);
});
