// Starts the real edgekv-server binary ($EDGEKV_SERVER) on a free loopback
// port for the node client tests, and stops it.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const TEST_TIMEOUT_MS = 20_000;

export function serverBinary() {
  const bin = process.env.EDGEKV_SERVER;
  if (!bin) throw new Error('EDGEKV_SERVER is not set (path of the edgekv-server binary)');
  return bin;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function resp(args) {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

// Resolves true once the server accepts connections and has finished loading
// its data: EXISTS is refused with -LOADING during recovery (PING is not).
// AUTH first when a password is set.
function probe(port, password) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const expected = password ? 2 : 1;
    let data = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
    sock.on('connect', () => {
      const auth = password ? resp(['AUTH', password]) : '';
      sock.write(auth + resp(['EXISTS', 'edgekv-readiness-key']));
    });
    sock.on('data', (d) => {
      data += d.toString('latin1');
      const lines = data.split('\r\n');
      if (lines.length <= expected) return;
      done((!password || lines[0] === '+OK') && lines[expected - 1].startsWith(':'));
    });
  });
}

export class EdgekvServer {
  constructor(extraArgs = []) {
    this.extraArgs = extraArgs.map(String);
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'edgekv-node-'));
    this.logPath = path.join(this.dir, 'server.log');
    this.proc = null;
    this.port = 0;
    this.exited = null;
  }

  async start() {
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort();
      const dataDir = path.join(this.dir, 'data');
      mkdirSync(dataDir, { recursive: true });
      const logFd = openSync(this.logPath, 'w');
      this.proc = spawn(serverBinary(), [
        '--port', String(this.port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '',
        ...this.extraArgs,
      ], { stdio: ['ignore', logFd, logFd] });
      closeSync(logFd);
      this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
      let running = true;
      this.exited.then(() => { running = false; });
      const deadline = Date.now() + 10_000;
      while (running && Date.now() < deadline) {
        if (await probe(this.port, this.password())) return this;
        await sleep(20);
      }
      if (running) break; // up but not answering: give up
    }
    const log = this.log();
    await this.stop();
    throw new Error(`edgekv-server did not become ready:\n${log}`);
  }

  password() {
    const i = this.extraArgs.indexOf('--requirepass');
    return i >= 0 && i + 1 < this.extraArgs.length ? this.extraArgs[i + 1] : null;
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  // SIGTERM, then SIGKILL after 5 s. Resolves to { code, signal }.
  async stop() {
    if (!this.proc) return null;
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      const res = await this.exited;
      clearTimeout(timer);
      rmSync(this.dir, { recursive: true, force: true });
      return res;
    }
    rmSync(this.dir, { recursive: true, force: true });
    return this.exited;
  }
}

export async function startServer(extraArgs = []) {
  return new EdgekvServer(extraArgs).start();
}

// 10k keys "key:0".."key:9999", written with one pipelined MSET per 1000.
export function tenThousandKeys() {
  return Array.from({ length: 10_000 }, (_, i) => `key:${i}`);
}
