/**
 * The command line of kvsd's commands, driven by one table per command: each row is a flag with its
 * environment variable, default, one-line description and group, and the same rows parse the arguments
 * and print the usage, so a new flag is one row and --help can never forget it.
 *
 * kvsd's own parser rather than node:util parseArgs: parseArgs reads `--port -1` as two options and
 * explains its errors in its own words ("To specify an option argument starting with a dash..."); here a
 * flag that takes a value always takes the next argument, and every error is one kvsd line.
 */

export interface OptionSpec {
  /** The flag without its dashes: `port` is --port. */
  name: string;
  /** Placeholder of the value (`N`, `DIR`); a flag without one is a switch (--quiet). */
  value?: string;
  /** Environment variable read when the flag is not given. */
  env?: string;
  /** The default as --help shows it (undefined: none). */
  default?: string;
  description: string;
  /** Heading the flag is listed under in --help. */
  group?: string;
  /** The only values accepted. */
  choices?: readonly string[];
}

/** A mistake on the command line: kvsd prints it as one line, points to --help, and exits 2. */
export class UsageError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedCommandLine {
  command: string;
  /** --help or -h was given: nothing else was checked. */
  help: boolean;
  /**
   * Each given flag: its value, or true for a switch; given twice, the last one counts (as with most tools, so a
   * wrapper's flags can be overridden). Environment variables are not merged in (see optionText).
   */
  values: Map<string, string | true>;
  positionals: string[];
}

const HELP_FLAGS = new Set(['--help', '-h']);

export function isHelpFlag(arg: string | undefined): boolean {
  return arg !== undefined && HELP_FLAGS.has(arg);
}

export function parseCommandLine(
  command: string,
  specs: readonly OptionSpec[],
  args: readonly string[],
  opts: { positionals?: boolean } = {},
): ParsedCommandLine {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const parsed: ParsedCommandLine = { command, help: false, values: new Map(), positionals: [] };
  // Help wins over every other mistake: someone who asks for it gets it.
  const end = args.indexOf('--');
  if ((end < 0 ? args : args.slice(0, end)).some(isHelpFlag)) return { ...parsed, help: true };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      parsed.positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : '';
    const spec = byName.get(name);
    if (!spec) throw new UsageError(command, `unknown option '${eq < 0 ? arg : arg.slice(0, eq)}'`);
    if (spec.value === undefined) {
      if (eq >= 0) throw new UsageError(command, `--${name} takes no value`);
      parsed.values.set(name, true);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < args.length) value = args[++i]!;
    else throw new UsageError(command, `--${name} needs a value (${spec.value})`);
    checkChoice(command, spec, value);
    parsed.values.set(name, value);
  }
  if (!opts.positionals && parsed.positionals.length > 0) {
    throw new UsageError(command, `unexpected argument '${parsed.positionals[0]}'`);
  }
  return parsed;
}

/**
 * The value of a flag that takes one: the command line's, else its environment variable's (empty = unset),
 * held to the flag's choices either way.
 */
export function optionText(
  parsed: ParsedCommandLine,
  spec: OptionSpec,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const given = parsed.values.get(spec.name);
  if (typeof given === 'string') return given;
  const text = (spec.env && env[spec.env]) || undefined;
  if (text !== undefined) checkChoice(parsed.command, spec, text);
  return text;
}

function checkChoice(command: string, spec: OptionSpec, value: string) {
  if (spec.choices && !spec.choices.includes(value)) {
    throw new UsageError(
      command,
      `--${spec.name} must be ${spec.choices.map((c) => `'${c}'`).join(' or ')}, got '${value}'`,
    );
  }
}

/** Whether a switch is on: given on the command line, or its environment variable is 1, true or yes. */
export function switchOn(parsed: ParsedCommandLine, spec: OptionSpec, env: NodeJS.ProcessEnv = process.env): boolean {
  return parsed.values.get(spec.name) === true || /^(1|true|yes)$/i.test((spec.env && env[spec.env]) ?? '');
}

/** A whole number in [min, max], or a UsageError naming the flag. */
export function wholeNumber(
  command: string,
  name: string,
  text: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(n) && n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `${min}..${max}`;
    throw new UsageError(command, `--${name} must be ${range}, got '${text}'`);
  }
  return n;
}

/** Width --help wraps descriptions at. */
const HELP_COLUMNS = 100;

/** `text` in lines of at most `columns` characters (a longer word stays whole), each but the first indented. */
function wrap(text: string, firstWidth: number, indent: number, columns = HELP_COLUMNS): string {
  const lines: string[] = [];
  let line = '';
  let room = columns - firstWidth;
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = columns - indent;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/**
 * The option lines of --help: `--flag VALUE  description (ENV, default X)`, under their groups; a long
 * description goes on over indented lines.
 */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const left = (s: OptionSpec) => `--${s.name}${s.value ? ` ${s.value}` : ''}`;
  const width = Math.max(...specs.map((s) => left(s).length)) + 2;
  const lines: string[] = [];
  let group: string | undefined;
  for (const s of specs) {
    if (s.group !== group) {
      group = s.group;
      if (group) lines.push('', `  ${group}:`);
    }
    const notes = [s.env && (s.value ? s.env : `${s.env}=1`), s.default !== undefined && `default ${s.default}`].filter(
      Boolean,
    );
    const head = `  ${left(s).padEnd(width)}`;
    lines.push(
      `${head}${wrap(`${s.description}${notes.length ? ` (${notes.join(', ')})` : ''}`, head.length, head.length)}`,
    );
  }
  return lines.join('\n');
}
