// Starts the real edgekv-server binary ($EDGEKV_SERVER) on a free loopback
// port for the node client tests, and stops it. stop() rejects when the
// server did not stop cleanly: it needed SIGKILL after SIGTERM, exited with
// another status than 0 (also by itself, before stop()), or left a sanitizer
// report in its log.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// Hang guards, not measures: several times the slowest test in a sanitizer
// build on a loaded machine.
export const TEST_TIMEOUT_MS = 600_000;
export const COMMAND_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 120_000;
// A clean shutdown writes out the log and LevelDB: slow under the
// sanitizers on a loaded machine, so this only guards against a hang.
export const STOP_TIMEOUT_MS = Number(process.env.EDGEKV_STOP_TIMEOUT ?? 300) * 1000;

// The first lines of sanitizer reports (UBSan: "file:line:col: runtime
// error: ...") and the summary each ends with.
const SANITIZER_REPORT = new RegExp(
  'ERROR: (?:Address|Leak|Memory|Thread)Sanitizer|WARNING: (?:Thread|Memory)Sanitizer' +
  '|SUMMARY: \\w*Sanitizer|^\\S+:\\d+:\\d+: runtime error: ', 'm');

export function sanitizerReports(text) {
  return text.split('\n').filter((line) => SANITIZER_REPORT.test(line));
}

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
// its data: EXISTS is refused with -LOADING during recovery (a data command:
// the probe says so whatever PING does).
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
    sock.setTimeout(10_000, () => done(false));
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

function describe({ code, signal }) {
  return signal ? `killed by ${signal}` : `exit status ${code}`;
}

export class EdgekvServer {
  // `binary` replaces $EDGEKV_SERVER (the harness's own tests run a fake).
  constructor(extraArgs = [], { binary = null } = {}) {
    this.extraArgs = extraArgs.map(String);
    this.binary = binary;
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'edgekv-node-'));
    this.logPath = path.join(this.dir, 'server.log');
    this.proc = null;
    this.port = 0;
    this.exited = null;
    this.running = false;
  }

  spawn() {
    const dataDir = path.join(this.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const logFd = openSync(this.logPath, 'w');
    this.proc = spawn(this.binary ?? serverBinary(), [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '',
      ...this.extraArgs,
    ], { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    this.running = true;
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => {
      this.running = false;
      resolve({ code, signal });
    }));
  }

  async start() {
    let failedAttempts = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort();
      this.spawn();
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (this.running && Date.now() < deadline) {
        if (await probe(this.port, this.password())) return this;
        await sleep(20);
      }
      if (this.running) break; // up but not answering: give up
      // Exited during start-up (the port was taken, say): retried, but a
      // sanitizer report still counts.
      await this.exited;
      const log = this.log();
      if (sanitizerReports(log).length) {
        rmSync(this.dir, { recursive: true, force: true });
        throw new Error(`edgekv-server left a sanitizer report at start-up:\n${log}`);
      }
      failedAttempts += log;
    }
    const log = failedAttempts + this.log();
    await this.stop().catch(() => {});
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

  // SIGTERM, then SIGKILL after `timeoutMs`. Resolves to { code, signal } if
  // it stopped cleanly; rejects naming what went wrong otherwise.
  async stop({ timeoutMs = STOP_TIMEOUT_MS } = {}) {
    if (!this.proc) return null;
    if (this.stopped) return this.stopped;
    const problems = [];
    if (this.running) {
      this.proc.kill('SIGTERM');
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        this.proc.kill('SIGKILL');
      }, timeoutMs);
      const res = await this.exited;
      clearTimeout(timer);
      if (killed) {
        problems.push(`did not exit within ${timeoutMs / 1000} s of SIGTERM and was killed with SIGKILL`);
      } else if (res.code !== 0) {
        problems.push(`stopped with ${describe(res)} after SIGTERM`);
      }
    } else {
      const res = await this.exited;
      if (res.code !== 0) problems.push(`died by itself (${describe(res)}) before the test stopped it`);
    }
    const log = this.log();
    const reports = sanitizerReports(log);
    if (reports.length) problems.push(`its log holds a sanitizer report: ${reports.slice(0, 4).join('; ')}`);
    rmSync(this.dir, { recursive: true, force: true });
    this.stopped = this.exited;
    if (problems.length) {
      const tail = log.length > 4000 ? `...${log.slice(-4000)}` : log;
      throw new Error(`edgekv-server on port ${this.port}: ${problems.join('; ')}\n--- its log ---\n${tail}`);
    }
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
