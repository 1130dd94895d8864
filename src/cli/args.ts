/**
 * Every command's options go through parseCommandArgs, so that a bad option reads the same
 * everywhere: "unknown option --foo for 'qis-edge pack' (see qis-edge pack --help)". Node's own
 * text ("Unknown option '--foo'. To specify a positional argument starting with a '-', place
 * it at the end of the command after '--', as in '-- "--foo"") names no command and ends on
 * an unbalanced quote.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

type Strict<O extends Options> = { args: string[]; options: O; allowPositionals: true; strict: true };

export function parseCommandArgs<const O extends Options>(command: string, args: string[], options: O): ReturnType<typeof parseArgs<Strict<O>>> {
  const config: Strict<O> = { args, options, allowPositionals: true, strict: true };
  try {
    return parseArgs(config);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) throw e;
    const what = describeProblem(args, options) ?? (e as Error).message;
    throw new UsageError(`${what} for 'qis-edge ${command}' (see qis-edge ${command} --help)`, { cause: e });
  }
}

/**
 * What strict parsing refused, in our words, from the tokens of a lenient parse (not from
 * Node's message, whose wording may change); undefined if it is none of the cases below.
 */
function describeProblem(args: string[], options: Options): string | undefined {
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const spec = options[t.name];
    if (spec === undefined) return `unknown option ${t.rawName}`;
    if (spec.type === "boolean" && t.value !== undefined) return `option ${t.rawName} takes no value (got "${t.value}")`;
    if (spec.type === "string") {
      if (t.value === undefined) return `option ${t.rawName} needs a value`;
      // "-o --hex": strict parsing refuses a value that looks like an option, unless inline.
      if (!t.inlineValue && t.value.startsWith("-") && t.value !== "-") return `option ${t.rawName} needs a value, got the option-like "${t.value}" (write --${t.name}=${t.value} if it is meant)`;
    }
  }
  return undefined;
}
