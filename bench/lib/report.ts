/** Tables for the console and for docs/benchmarks.md. */

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  notes: string[];
}

export interface Target {
  name: string;
  value: string;
  goal: string;
  met: boolean | undefined;
}

export class Report {
  readonly tables: Table[] = [];
  readonly targets: Target[] = [];
  readonly skipped: string[] = [];
  readonly profiles: { title: string; lines: string[][]; notes: string[] }[] = [];
  /** Average cores used by other processes during each section. */
  readonly noise: { section: string; cores: number; seconds: number }[] = [];

  table(title: string, columns: string[]): Table {
    const t: Table = { title, columns, rows: [], notes: [] };
    this.tables.push(t);
    return t;
  }

  target(name: string, value: string, goal: string, met: boolean | undefined) {
    this.targets.push({ name, value, goal, met });
    console.log(`  target: ${name}: ${value} (goal ${goal}) -> ${met === undefined ? 'n/a' : met ? 'MET' : 'NOT MET'}`);
  }
}

export function fmt(n: number, digits?: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

export const ratio = (value: number, ceiling: number) => fmt(value / ceiling, 2);
export const mb = (bytes: number) => bytes / 1e6;

function widths(columns: string[], rows: string[][]): number[] {
  return columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
}

const numeric = (s: string) => /^[-+]?[\d,.]+( ?[a-zA-Z%×x]+)?$|^n\/a$/.test(s);

export function consoleTable(t: Table): string {
  const w = widths(t.columns, t.rows);
  const line = (cells: string[]) => cells.map((c, i) => (numeric(c) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
  const out = [`\n${t.title}`, line(t.columns), w.map((n) => '-'.repeat(n)).join('  '), ...t.rows.map(line)];
  for (const n of t.notes) out.push(`  * ${n}`);
  return out.join('\n');
}

export function markdownTable(columns: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const align = columns.map((_, i) => (rows.length > 0 && rows.every((r) => numeric(r[i] ?? '')) ? '---:' : '---'));
  return [
    `| ${columns.map(esc).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
