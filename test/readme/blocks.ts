/**
 * The fenced code blocks of a Markdown file, in order, with the `<!-- readme-test: skip (reason) -->`
 * marker that may stand on the line right before a fence (blank lines between them are allowed).
 */

export interface CodeBlock {
  /** The fence's info string: `sh`, `ts`, `text`... ('' for a bare fence). */
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The reason given by a skip marker, if the block has one. */
  skip?: string;
}

const FENCE = /^```(\S*)\s*$/;
const SKIP = /^<!-- readme-test: skip \((.+)\) -->$/;

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let pendingSkip: { reason: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const skip = SKIP.exec(text.trim());
    if (skip) {
      if (pendingSkip) throw new Error(`README.md:${pendingSkip.line}: skip marker not followed by a code block`);
      pendingSkip = { reason: skip[1]!, line: i + 1 };
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) {
      // A marker belongs to the very next fence: any other text in between orphans it.
      if (pendingSkip && text.trim() !== '')
        throw new Error(`README.md:${pendingSkip.line}: skip marker not followed by a code block`);
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i === lines.length) throw new Error(`README.md:${start + 1}: code block never closed`);
    blocks.push({
      lang: fence[1]!,
      code: `${body.join('\n')}\n`,
      line: start + 1,
      ...(pendingSkip && { skip: pendingSkip.reason }),
    });
    pendingSkip = undefined;
  }
  if (pendingSkip) throw new Error(`README.md:${pendingSkip.line}: skip marker not followed by a code block`);
  return blocks;
}
