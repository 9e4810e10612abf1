/** A description of the machine the figures were measured on. */
import { readFileSync, statfsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { basename } from 'node:path';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  disk: string;
  node: string;
  kernel: string;
  sqlite: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function describeDisk(dir: string): string {
  let source = '?';
  let fstype = '?';
  try {
    const out = execFileSync('findmnt', ['-no', 'SOURCE,FSTYPE', '-T', dir], { encoding: 'utf8' }).trim().split(/\s+/);
    source = out[0] ?? '?';
    fstype = out[1] ?? '?';
  } catch {
    /* no findmnt */
  }
  const dev = basename(source).replace(/p?\d+$/, '');
  const rotational = read(`/sys/block/${dev}/queue/rotational`);
  const kind = dev.startsWith('vd')
    ? 'virtio virtual disk'
    : rotational === '0'
      ? 'SSD/virtual (non-rotational)'
      : rotational === '1'
        ? 'rotational'
        : 'unknown type';
  const model = read(`/sys/block/${dev}/device/model`);
  const sectors = Number(read(`/sys/block/${dev}/size`) ?? NaN);
  const size = Number.isFinite(sectors) ? `${Math.round((sectors * 512) / 2 ** 30)} GiB` : '?';
  let free = '';
  try {
    const s = statfsSync(dir);
    free = `, ${Math.round((s.bavail * s.bsize) / 2 ** 30)} GiB free`;
  } catch {
    /* ignore */
  }
  return `${source} (${model ? `${model}, ` : ''}${kind}, ${size}${free}), ${fstype}`;
}

export function describeMachine(dir: string, sqliteVersion: string): Machine {
  const cpuinfo = read('/proc/cpuinfo') ?? '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? '?';
  const mhz = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(cpuinfo)?.[1];
  return {
    cpu: mhz ? `${model} @ ${Math.round(Number(mhz))} MHz` : model,
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    disk: describeDisk(dir),
    node: process.version,
    kernel: `Linux ${release()}`,
    sqlite: sqliteVersion,
  };
}
