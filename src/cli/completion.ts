/**
 * `tessera completion bash|zsh`: a completion script for commands, subcommands and flags, written
 * from the CLI's own command table, so it never lists a command that does not exist. zsh runs the
 * same function through its bash compatibility (bashcompinit).
 */
import { EXIT_OK, type Command, type Group } from "./command.js";

/** A command and its flags, or a group and its commands. */
export interface CompletionNode {
  name: string;
  flags: string[];
  commands?: CompletionNode[];
}

const words = (list: string[]): string => list.join(" ");
/** Names and flags are the CLI's own ([a-z0-9-]): nothing in them needs quoting for the shell. */
const flagsOf = (n: CompletionNode): string => words([...n.flags.map((f) => `--${f}`), "--help"]);

function bashScript(tree: CompletionNode[]): string {
  const cases = tree.map((n) => {
    if (n.commands === undefined) return `    ${n.name}) COMPREPLY=( $(compgen -W "${flagsOf(n)}" -- "$cur") ) ;;`;
    const subs = n.commands.map((s) => `        ${s.name}) COMPREPLY=( $(compgen -W "${flagsOf(s)}" -- "$cur") ) ;;`).join("\n");
    return [
      `    ${n.name})`,
      `      if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "${words(n.commands.map((s) => s.name))}" -- "$cur") ); return; fi`,
      `      case "\${COMP_WORDS[2]}" in`,
      subs,
      "      esac ;;",
    ].join("\n");
  });
  return [
    "# tessera completion (bash). Load it with: source <(tessera completion bash)",
    "_tessera() {",
    `  local cur="\${COMP_WORDS[COMP_CWORD]}"`,
    "  COMPREPLY=()",
    `  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=( $(compgen -W "${words([...tree.map((n) => n.name), "help", "--help", "--version"])}" -- "$cur") ); return; fi`,
    `  case "\${COMP_WORDS[1]}" in`,
    ...cases,
    "  esac",
    "}",
    "complete -F _tessera tessera",
    "",
  ].join("\n");
}

function zshScript(tree: CompletionNode[]): string {
  return [
    "# tessera completion (zsh). Load it with: source <(tessera completion zsh)",
    "autoload -U +X bashcompinit && bashcompinit",
    bashScript(tree).split("\n").slice(1).join("\n"),
  ].join("\n");
}

function shellCommand(shell: "bash" | "zsh", tree: () => Promise<CompletionNode[]>): Command {
  return {
    name: shell,
    summary: `Print the ${shell} completion script`,
    usage: `Usage: tessera completion ${shell}

Prints a script that completes tessera's commands, subcommands and flags in ${shell}. Load it with
  source <(tessera completion ${shell})${shell === "bash" ? "\nor save it as /etc/bash_completion.d/tessera." : ""}`,
    options: {},
    async run(_flags, ctx) {
      const t = await tree();
      ctx.out(shell === "bash" ? bashScript(t) : zshScript(t));
      return EXIT_OK;
    },
  };
}

export function completionGroup(tree: () => Promise<CompletionNode[]>): Group {
  return {
    name: "completion",
    summary: "Print a shell completion script: source <(tessera completion bash), or zsh.",
    commands: [shellCommand("bash", tree), shellCommand("zsh", tree)],
  };
}
